/* Closed loop (-p) and fixed rate (-r): the endless stream of pre-masked frames and what comes back. */
#include "cload.h"

void push_time(struct conn *c, int64_t t) {
  if (c->times_size == c->times_cap) {
    uint32_t cap = c->times_cap * 2;
    int64_t *grown = malloc(sizeof(int64_t) * cap);
    for (uint32_t i = 0; i < c->times_size; i++) grown[i] = c->times[(c->times_head + i) % c->times_cap];
    free(c->times);
    c->times = grown;
    c->times_cap = cap;
    c->times_head = 0;
  }
  c->times[(c->times_head + c->times_size) % c->times_cap] = t;
  c->times_size += 1;
}

static int64_t shift_time(struct conn *c) {
  int64_t t = c->times[c->times_head];
  c->times_head = (c->times_head + 1) % c->times_cap;
  c->times_size -= 1;
  return t;
}

static void set_out_interest(struct conn *c, int want) {
  if (c->want_out == want) return;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = want;
}

/* Writes what the connection owes from the batch buffer, a run of identical frames. */
void flush_out(struct conn *c) {
  while (c->out_pending > 0) {
    size_t start = c->out_offset % frame_bytes;
    size_t len = batch_bytes - start;
    if (len > c->out_pending) len = c->out_pending;
    ssize_t n = conn_write(c, batch + start, len);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n == 0) snprintf(last_error, sizeof last_error, "closed by the server");
      else if (errno != EPROTO) fail("write");
      close_conn(c);
      return;
    }
    c->out_pending -= (uint64_t)n;
    c->out_offset += (uint64_t)n;
  }
  set_out_interest(c, c->out_pending > 0);
}

void send_frames(struct conn *c, uint64_t n) {
  in_flight += n;
  c->out_pending += n * frame_bytes;
  flush_out(c);
}

void on_readable(struct conn *c, uint8_t *buf) {
  for (;;) {
    ssize_t r = conn_read(c, buf, READ_BUFFER_BYTES);
    if (r == 0) {
      snprintf(last_error, sizeof last_error, "closed by the server");
      close_conn(c);
      return;
    }
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno != EPROTO) fail("read");
      close_conn(c);
      return;
    }
    uint64_t n = feed(c, buf, (size_t)r);
    if (recording) bytes_in += (uint64_t)r;
    if (n > 0) {
      int64_t now = now_ns();
      if (n > c->times_size) n = c->times_size; /* never more answers than questions */
      for (uint64_t i = 0; i < n; i++) {
        int64_t sent = shift_time(c);
        if (recording) record_latency(now - sent);
      }
      if (recording) msgs += n;
      in_flight -= n;
      if (opt.rate == 0 && sending) {
        for (uint64_t i = 0; i < n; i++) push_time(c, now);
        send_frames(c, n);
      }
    }
    /* A short read() drained the socket. SSL_read returns a record at a time: go on while OpenSSL holds more, and
       level-triggered epoll reports what is still in the socket. */
#ifdef CLOAD_TLS
    if (c->ssl) {
      if (!SSL_has_pending(c->ssl)) return;
      continue;
    }
#endif
    if ((size_t)r < READ_BUFFER_BYTES) return;
  }
}

void build_frames(void) {
  size_t len = (size_t)opt.message_bytes;
  size_t header = len < 126 ? 2 : len < 65536 ? 4 : 10;
  frame_bytes = header + 4 + len;
  frame = malloc(frame_bytes);
  frame[0] = 0x80 | (opt.binary ? 0x2 : 0x1);
  if (len < 126) {
    frame[1] = 0x80 | len;
  } else if (len < 65536) {
    frame[1] = 0x80 | 126;
    frame[2] = len >> 8;
    frame[3] = len & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) frame[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
  }
  uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  memcpy(frame + header, mask, 4);
  for (size_t i = 0; i < len; i++) frame[header + 4 + i] = (uint8_t)(0x61 + i % 26) ^ mask[i & 3];
  /* enough copies for a batch, plus one so a write may start anywhere inside the first frame */
  size_t copies = (size_t)(opt.rate > 0 ? RATE_BATCH_FRAMES : opt.depth) + 1;
  if (copies * frame_bytes < 64 * 1024) copies = 64 * 1024 / frame_bytes + 1;
  batch_bytes = copies * frame_bytes;
  batch = malloc(batch_bytes);
  for (size_t i = 0; i < copies; i++) memcpy(batch + i * frame_bytes, frame, frame_bytes);
}

