/*
 * -C, handshakes: each of the `-c` loops runs one exchange at a time, non-blocking: connect, (TLS,) opening handshake,
 * one echo, closing handshake; the server then closes TCP (RFC 6455 7.1.1), so TIME_WAIT stays on its side.
 */
#include "cload.h"

static struct sockaddr_storage target_addr;
static socklen_t target_addr_len;
/* close, status 1000, masked (as load.js's buildCloseFrame) */
static const uint8_t close_frame[] = {0x88, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x03 ^ 0x37, 0xe8 ^ 0xfa};
/* connections handed over after their echo: waiting for the server to close them (a ring with a sentinel) */
static struct conn closing = {.prev = &closing, .next = &closing};

static void watch_fd(struct conn *c, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(epfd, op, c->fd, &ev);
}

/* An exchange that ended before its echo: a refusal (socket, connect, TLS or opening handshake: counted as a connect
   error, then a back-off) or a connection lost after the handshake (closed). */
static void exchange_failed(struct conn *c, int refused, int64_t now) {
  if (sending) {
    if (refused) err_connect += 1;
    else err_closed += 1;
  }
  if (c->open) release_conn(c);
  in_flight -= 1;
  c->stage = STAGE_BACKOFF;
  c->deadline = now + (refused ? BACKOFF_NS : 0);
}

static void exchange_send_upgrade(struct conn *c, int64_t now) {
  char req[512];
  int n = upgrade_request(req, sizeof req);
  if (conn_write(c, req, n) != n) {
    if (errno != EPROTO) fail("handshake write");
    exchange_failed(c, 1, now);
    return;
  }
  c->stage = STAGE_UPGRADE;
  watch_fd(c, EPOLLIN, EPOLL_CTL_MOD);
}

#ifdef CLOAD_TLS
static void exchange_tls(struct conn *c, int64_t now) {
  int r = SSL_connect(c->ssl);
  if (r == 1) {
    exchange_send_upgrade(c, now);
    return;
  }
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    watch_fd(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT, EPOLL_CTL_MOD);
    return;
  }
  tls_fail("TLS handshake");
  exchange_failed(c, 1, now);
}
#endif

/* The echo is in: the closing handshake goes out, the socket waits apart for the server to close it, and the loop
   starts its next exchange. */
static void exchange_done(struct conn *c, int64_t now) {
  if (recording) {
    msgs += 1;
    record_latency(now - c->started);
  }
  struct conn *k = calloc(1, sizeof *k);
  k->fd = c->fd;
  k->open = 1;
  k->stage = STAGE_CLOSING;
  k->deadline = now + DRAIN_NS;
#ifdef CLOAD_TLS
  k->ssl = c->ssl;
  c->ssl = NULL;
#endif
  c->open = 0;
  conn_write(k, close_frame, sizeof close_frame);
  k->next = &closing;
  k->prev = closing.prev;
  closing.prev->next = k;
  closing.prev = k;
  watch_fd(k, EPOLLIN, EPOLL_CTL_MOD);
  in_flight -= 1;
  exchange_start(c, now);
}

static void closing_free(struct conn *k) {
  k->prev->next = k->next;
  k->next->prev = k->prev;
  release_conn(k);
  free(k);
}

/* Reads what the server still sends (its close frame) until it closes TCP; its errors are not the run's. */
void closing_readable(struct conn *k, uint8_t *buf) {
  char kept[sizeof last_error];
  memcpy(kept, last_error, sizeof kept);
  ssize_t r;
  while ((r = conn_read(k, buf, READ_BUFFER_BYTES)) > 0) {
  }
  memcpy(last_error, kept, sizeof kept);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  closing_free(k);
}

/* Bytes of the echo stage; returns 1 when they completed the echo. */
static int exchange_fed(struct conn *c, const uint8_t *p, size_t len) {
  uint64_t n = feed(c, p, len);
  if (recording) bytes_in += len;
  if (n == 0) return 0;
  exchange_done(c, now_ns());
  return 1;
}

void exchange_start(struct conn *c, int64_t now) {
  c->stage = STAGE_IDLE;
  if (!sending) return;
  in_flight += 1;
  c->started = now;
  c->deadline = now + HANDSHAKE_TIMEOUT_NS;
  c->head_have = c->header_have = c->in_payload = 0;
  c->payload_left = 0;
  c->fd = socket(target_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) {
    fail("socket");
    exchange_failed(c, 1, now);
    return;
  }
  c->open = 1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&target_addr, target_addr_len) < 0 && errno != EINPROGRESS) {
    fail("connect");
    exchange_failed(c, 1, now);
    return;
  }
  c->stage = STAGE_CONNECTING;
  watch_fd(c, EPOLLOUT, EPOLL_CTL_ADD);
}

void exchange_event(struct conn *c, uint8_t *buf, int64_t now) {
  if (c->stage == STAGE_CONNECTING) {
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
      errno = error;
      fail("connect");
      exchange_failed(c, 1, now);
      return;
    }
#ifdef CLOAD_TLS
    if (opt.tls) {
      tls_attach(c);
      c->stage = STAGE_TLS;
      exchange_tls(c, now);
      return;
    }
#endif
    exchange_send_upgrade(c, now);
    return;
  }
#ifdef CLOAD_TLS
  if (c->stage == STAGE_TLS) {
    exchange_tls(c, now);
    return;
  }
#endif
  for (;;) {
    int upgrading = c->stage == STAGE_UPGRADE;
    ssize_t r = upgrading ? conn_read(c, c->head + c->head_have, HEAD_BYTES - c->head_have - 1)
                          : conn_read(c, buf, READ_BUFFER_BYTES);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (r <= 0) {
      if (r == 0) snprintf(last_error, sizeof last_error, upgrading ? "closed during handshake" : "closed by the server");
      else if (errno != EPROTO) fail("read");
      exchange_failed(c, upgrading, now);
      return;
    }
    if (!upgrading) {
      if (exchange_fed(c, buf, (size_t)r)) return;
      continue;
    }
    c->head_have += (size_t)r;
    size_t head_bytes = 0;
    int answer = upgrade_answer(c->head, c->head_have, &head_bytes);
    if (answer == 0) continue;
    if (answer < 0) {
      exchange_failed(c, 1, now);
      return;
    }
    c->stage = STAGE_ECHO;
    c->deadline = now + DRAIN_NS;
    if (conn_write(c, frame, frame_bytes) != (ssize_t)frame_bytes) {
      if (errno != EPROTO) fail("write");
      exchange_failed(c, 0, now);
      return;
    }
    if (c->head_have > head_bytes && exchange_fed(c, (uint8_t *)c->head + head_bytes, c->head_have - head_bytes))
      return;
  }
}

/* Back-offs that ended, handshakes and echoes past their time, closing connections the server never closed. */
void exchange_sweep(struct conn *conns, int count, int64_t now) {
  for (int i = 0; i < count; i++) {
    struct conn *c = &conns[i];
    if (c->stage == STAGE_IDLE || now < c->deadline) continue;
    if (c->stage == STAGE_BACKOFF) {
      exchange_start(c, now);
    } else {
      int echoing = c->stage == STAGE_ECHO;
      snprintf(last_error, sizeof last_error, echoing ? "no echo within %lld ms" : "handshake timeout after %lld ms",
               (echoing ? DRAIN_NS : HANDSHAKE_TIMEOUT_NS) / 1000000);
      exchange_failed(c, !echoing, now);
    }
  }
  while (closing.next != &closing && now >= closing.next->deadline) closing_free(closing.next);
}

void exchange_target(const struct sockaddr_storage *addr, socklen_t addr_len) {
  target_addr = *addr;
  target_addr_len = addr_len;
}

void closing_close_all(void) {
  while (closing.next != &closing) closing_free(closing.next);
}
