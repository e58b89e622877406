/* One connection: read and write with or without TLS, the blocking opening handshake, the frame reader. */
#include "cload.h"

void fail(const char *what) {
  snprintf(last_error, sizeof last_error, "%s: %s", what, strerror(errno));
}

#ifdef CLOAD_TLS
SSL_CTX *tls_ctx;

void tls_fail(const char *what) {
  unsigned long code = ERR_get_error();
  char reason[160] = "no OpenSSL error queued";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  snprintf(last_error, sizeof last_error, "%s: %s", what, reason);
  ERR_clear_error();
}

/* An SSL_* result as read()/write() would give it: n > 0, 0 at the end of the stream, -1 with errno (EAGAIN to wait). */
static ssize_t tls_result(struct conn *c, int n, const char *what) {
  if (n > 0) return n;
  switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_SYSCALL:
      if (errno == 0) return 0;
      return -1;
    default:
      tls_fail(what);
      errno = EPROTO;
      return -1;
  }
}
#endif

ssize_t conn_read(struct conn *c, void *buf, size_t len) {
#ifdef CLOAD_TLS
  if (c->ssl) return tls_result(c, SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len), "TLS read");
#endif
  return read(c->fd, buf, len);
}

ssize_t conn_write(struct conn *c, const void *p, size_t len) {
#ifdef CLOAD_TLS
  if (c->ssl) {
    if (c->tls_retry_len > 0) len = c->tls_retry_len;
    if (len > INT32_MAX) len = INT32_MAX;
    ssize_t n = tls_result(c, SSL_write(c->ssl, p, (int)len), "TLS write");
    c->tls_retry_len = n < 0 && errno == EAGAIN ? len : 0;
    return n;
  }
#endif
  return write(c->fd, p, len);
}

void release_conn(struct conn *c) {
  c->open = 0;
#ifdef CLOAD_TLS
  if (c->ssl) SSL_free(c->ssl);
  c->ssl = NULL;
#endif
  close(c->fd);
}

/* A connection lost while measuring: an error, and its messages in flight will never be answered. */
void close_conn(struct conn *c) {
  if (!c->open) return;
  if (sending) err_closed += 1;
  in_flight -= c->times_size;
  c->times_size = 0;
  release_conn(c);
}

/* Returns how many data messages (FIN frames of opcode 0-2) the chunk completed. */
uint64_t feed(struct conn *c, const uint8_t *p, size_t len) {
  uint64_t done = 0;
  size_t off = 0;
  while (off < len) {
    if (c->in_payload) {
      uint64_t take = c->payload_left < len - off ? c->payload_left : len - off;
      off += take;
      c->payload_left -= take;
      if (c->payload_left > 0) continue;
      c->in_payload = 0;
    } else {
      if (c->header_have == 0 && len - off >= 2 && (p[off + 1] & 0x7f) < 126) {
        c->opcode = p[off] & 0x0f;
        c->fin = p[off] & 0x80;
        c->payload_left = p[off + 1] & 0x7f;
        off += 2;
      } else {
        c->header[c->header_have++] = p[off++];
        if (c->header_have < 2) continue;
        int len7 = c->header[1] & 0x7f;
        int need = len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
        if (c->header_have < need) continue;
        uint64_t length = len7;
        if (len7 == 126) length = ((uint64_t)c->header[2] << 8) | c->header[3];
        if (len7 == 127) {
          length = 0;
          for (int i = 2; i < 10; i++) length = (length << 8) | c->header[i];
        }
        c->opcode = c->header[0] & 0x0f;
        c->fin = c->header[0] & 0x80;
        c->payload_left = length;
        c->header_have = 0;
      }
      if (c->payload_left > 0) {
        c->in_payload = 1;
        continue;
      }
    }
    /* a frame ended */
    if (c->opcode >= 0x8) {
      if (c->opcode == 0x9) pings += 1; /* pings are not answered: the runs are shorter than any idle timeout */
      if (c->opcode == 0x8) c->payload_left = 0;
    } else if (c->fin) {
      done += 1;
    }
  }
  return done;
}

int resolve(struct sockaddr_storage *addr, socklen_t *addr_len) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
  char port[16];
  snprintf(port, sizeof port, "%d", opt.port);
  if (getaddrinfo(opt.host, port, &hints, &res) != 0) return -1;
  memcpy(addr, res->ai_addr, res->ai_addrlen);
  *addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

#ifdef CLOAD_TLS
/* A TLS client on the connection's socket; the server name goes in SNI unless the host is an address. */
void tls_attach(struct conn *c) {
  c->ssl = SSL_new(tls_ctx);
  SSL_set_fd(c->ssl, c->fd);
  unsigned char probe[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, opt.host, probe) != 1 && inet_pton(AF_INET6, opt.host, probe) != 1)
    SSL_set_tlsext_host_name(c->ssl, opt.host);
}

/* The TLS handshake on the still-blocking socket. */
static int open_tls(struct conn *c) {
  tls_attach(c);
  if (SSL_connect(c->ssl) == 1) return 0;
  tls_fail("TLS handshake");
  SSL_free(c->ssl);
  c->ssl = NULL;
  return -1;
}
#endif

/* The opening handshake's request (RFC 6455 4.1), its length. */
int upgrade_request(char *req, size_t cap) {
  return snprintf(req, cap,
                  "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n%s%s%s"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                  opt.path, opt.host, opt.port, opt.origin ? "Origin: " : "", opt.origin ? opt.origin : "",
                  opt.origin ? "\r\n" : "");
}

/* The response head so far (`have` bytes, room for one more): 1 when it is a whole 101 (its length in *head_bytes),
   0 when more is needed, -1 when refused (last_error says how). */
int upgrade_answer(char *head, size_t have, size_t *head_bytes) {
  head[have] = 0;
  char *end = strstr(head, "\r\n\r\n");
  if (end == NULL && have < HEAD_BYTES - 1) return 0;
  if (end == NULL || strncmp(head, "HTTP/1.1 101 ", 13) != 0) {
    snprintf(last_error, sizeof last_error, "handshake refused: %.60s", head);
    return -1;
  }
  *head_bytes = (size_t)(end + 4 - head);
  return 1;
}

/* Blocking connect and opening handshake (RFC 6455 4.1); bytes after the 101 response go to the frame reader. */
int open_conn(struct conn *c, struct sockaddr_storage *addr, socklen_t addr_len, uint8_t *buf) {
  c->fd = socket(addr->ss_family, SOCK_STREAM, 0);
  if (c->fd < 0 || connect(c->fd, (struct sockaddr *)addr, addr_len) < 0) {
    fail("connect");
    if (c->fd >= 0) close(c->fd);
    return -1;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef CLOAD_TLS
  if (opt.tls && open_tls(c) < 0) {
    close(c->fd);
    return -1;
  }
#endif
  char req[512];
  int n = upgrade_request(req, sizeof req);
  if (conn_write(c, req, n) != n) {
    if (errno != EPROTO) fail("handshake write");
    release_conn(c);
    return -1;
  }
  size_t have = 0, head_bytes = 0;
  int answer = 0;
  while (answer == 0) {
    ssize_t r = conn_read(c, buf + have, HEAD_BYTES - have - 1);
    if (r <= 0) {
      if (r == 0 || errno != EPROTO) snprintf(last_error, sizeof last_error, "closed during handshake");
      release_conn(c);
      return -1;
    }
    have += r;
    answer = upgrade_answer((char *)buf, have, &head_bytes);
  }
  if (answer < 0) {
    release_conn(c);
    return -1;
  }
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  c->open = 1;
  c->times_cap = (uint32_t)(opt.depth * 2 < 16 ? 16 : opt.depth * 2);
  c->times = malloc(sizeof(int64_t) * c->times_cap);
  if (have > head_bytes) feed(c, buf + head_bytes, have - head_bytes);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
  return 0;
}

