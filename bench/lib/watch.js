/** Watches the server processes named with --pids over the measured window: CPU time used, and RSS. */
import { readCmdline, sampleProcesses } from "./proc.js";

export class ProcessWatch {
  constructor(pids) {
    this.pids = pids;
    this.baseline = null;
    this.start = null;
    this.end = null;
    this.maxRss = new Map();
    this.timer = null;
    this.cmdlines = new Map(pids.map((pid) => [pid, readCmdline(pid)]));
  }

  /** Memory before the connections open (idle mode). */
  markBaseline() {
    this.baseline = sampleProcesses(this.pids);
  }

  markStart() {
    this.start = sampleProcesses(this.pids);
    this.trackRss(this.start);
    this.timer = setInterval(() => this.trackRss(sampleProcesses(this.pids)), 1000);
  }

  markEnd() {
    clearInterval(this.timer);
    this.end = sampleProcesses(this.pids);
    this.trackRss(this.end);
  }

  trackRss(samples) {
    for (const s of samples) this.maxRss.set(s.pid, Math.max(this.maxRss.get(s.pid) ?? 0, s.rssBytes));
  }

  /** Per pid: CPU µs in the window, RSS at baseline/start/end and peak; plus totals. */
  report(measuredMs) {
    if (this.start === null || this.end === null) return { processes: [], cpuUs: 0, cpuPercent: 0 };
    const processes = this.pids.map((pid, i) => {
      const start = this.start[i];
      const end = this.end[i];
      const cpuUs = Math.max(0, end.cpuUs - start.cpuUs);
      return {
        pid,
        comm: start.comm ?? end.comm ?? "",
        cmdline: this.cmdlines.get(pid) ?? "",
        gone: Boolean(end.gone),
        cpuUs,
        cpuPercent: Math.round((cpuUs / (measuredMs * 1000)) * 1000) / 10,
        rssBaselineBytes: this.baseline ? this.baseline[i].rssBytes : null,
        rssStartBytes: start.rssBytes,
        rssEndBytes: end.rssBytes,
        rssMaxBytes: this.maxRss.get(pid) ?? 0,
      };
    });
    const cpuUs = processes.reduce((a, p) => a + p.cpuUs, 0);
    return {
      processes,
      cpuUs,
      cpuPercent: Math.round((cpuUs / (measuredMs * 1000)) * 1000) / 10,
      rssBaselineBytes: this.baseline ? processes.reduce((a, p) => a + p.rssBaselineBytes, 0) : null,
      rssStartBytes: processes.reduce((a, p) => a + p.rssStartBytes, 0),
      rssEndBytes: processes.reduce((a, p) => a + p.rssEndBytes, 0),
    };
  }
}
