/** A FIFO of send times that grows when the open loop has more in flight than it expected. */
export class TimeQueue {
  constructor(capacity) {
    this.items = new Float64Array(Math.max(2, capacity));
    this.head = 0;
    this.size = 0;
  }
  push(time) {
    if (this.size === this.items.length) {
      const grown = new Float64Array(this.items.length * 2);
      for (let i = 0; i < this.size; i += 1) grown[i] = this.items[(this.head + i) % this.items.length];
      this.items = grown;
      this.head = 0;
    }
    this.items[(this.head + this.size) % this.items.length] = time;
    this.size += 1;
  }
  shift() {
    const time = this.items[this.head];
    this.head = (this.head + 1) % this.items.length;
    this.size -= 1;
    return time;
  }
}
