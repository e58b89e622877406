/*
 * cload's shared parts: the options, the run's counters, one connection, and what each file offers the others.
 * cload.c: options, the measured window, the JSON; conn.c: one connection (I/O with or without TLS, the opening
 * handshake, the frame reader); echo.c: closed loop and fixed rate; handshakes.c: -C; broadcast.c: -B.
 */
#ifndef CLOAD_H
#define CLOAD_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef CLOAD_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#define READ_BUFFER_BYTES (256 * 1024)
#define SUB_BUCKET_BITS 7
#define SUB_BUCKETS (1 << SUB_BUCKET_BITS)
#define MAGNITUDES 40 /* ns up to 2^47: days */
#define DRAIN_NS 2000000000LL
#define RATE_BATCH_FRAMES 64
#define MAX_SECONDS 3600
#define HANDSHAKE_TIMEOUT_NS 5000000000LL /* connect to 101, as load.js --connect */
#define BACKOFF_NS 10000000LL              /* after a refused connection, so a dead target is not hammered */
#define HEAD_BYTES 4096
#define MAX_HANDSHAKE_MESSAGE 4000
#ifdef CLOAD_TLS
#define TLS_BUILD 1
#else
#define TLS_BUILD 0
#endif

/* -C: the stages of one exchange; STAGE_CLOSING marks a connection waiting for the server to close it */
enum { STAGE_IDLE, STAGE_CONNECTING, STAGE_TLS, STAGE_UPGRADE, STAGE_ECHO, STAGE_BACKOFF, STAGE_CLOSING };

struct conn {
  int fd;
  int open;
  /* the frame reader: header bytes so far, payload bytes left */
  uint8_t header[14];
  int header_have;
  uint64_t payload_left;
  int in_payload;
  int fin;
  int opcode;
  /* bytes of the endless frame stream still to write, and where in a frame the next write starts */
  uint64_t out_pending;
  uint64_t out_offset;
  int want_out;
  /* send times (ns) of messages in flight, a ring that grows */
  int64_t *times;
  uint32_t times_cap, times_head, times_size;
  int64_t next_send_at;
  /* -C: the stage of this loop's exchange, when it started (or when its back-off ends), the response head so far */
  int stage;
  int64_t started;
  size_t head_have;
  char *head;
  int64_t deadline;
  struct conn *prev, *next; /* -C: the ring of closing connections */
#ifdef CLOAD_TLS
  SSL *ssl;
  size_t tls_retry_len; /* an SSL_write that wanted to wait must be repeated with the same length */
#endif
};

struct options {
  /* origin: sent as the handshake's Origin header (-o), as a browser does; NULL: none */
  const char *host, *path, *origin;
  int port, conns, depth, binary, tls, handshakes;
  double warmup_s, duration_s;
  long message_bytes;
  long rate;
};

extern struct options opt;
extern uint8_t *frame, *batch;
extern size_t frame_bytes, batch_bytes;
extern int recording, sending;
extern uint64_t msgs, bytes_in, in_flight;
extern uint64_t err_connect, err_closed, err_timeouts, pings;
extern char last_error[200];
extern int epfd;
#ifdef CLOAD_TLS
extern SSL_CTX *tls_ctx;
#endif

static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* cload.c */
void record_latency(int64_t ns);
void record_into(uint64_t into[MAGNITUDES][SUB_BUCKETS], int64_t value);
void print_buckets(uint64_t of[MAGNITUDES][SUB_BUCKETS]);
int64_t cpu_us(int64_t *system_us);
void raise_open_files(void);

/* conn.c */
void fail(const char *what);
#ifdef CLOAD_TLS
void tls_fail(const char *what);
void tls_attach(struct conn *c);
#endif
ssize_t conn_read(struct conn *c, void *buf, size_t len);
ssize_t conn_write(struct conn *c, const void *p, size_t len);
void release_conn(struct conn *c);
void close_conn(struct conn *c);
uint64_t feed(struct conn *c, const uint8_t *p, size_t len);
int resolve(struct sockaddr_storage *addr, socklen_t *addr_len);
int upgrade_request(char *req, size_t cap);
int upgrade_answer(char *head, size_t have, size_t *head_bytes);
int open_conn(struct conn *c, struct sockaddr_storage *addr, socklen_t addr_len, uint8_t *buf);

/* echo.c */
void push_time(struct conn *c, int64_t t);
void send_frames(struct conn *c, uint64_t n);
void flush_out(struct conn *c);
void on_readable(struct conn *c, uint8_t *buf);
void build_frames(void);

/* broadcast.c */
int broadcast_main(int argc, char **argv);

/* handshakes.c */
void exchange_target(const struct sockaddr_storage *addr, socklen_t addr_len);
void exchange_start(struct conn *c, int64_t now);
void exchange_event(struct conn *c, uint8_t *buf, int64_t now);
void exchange_sweep(struct conn *conns, int count, int64_t now);
void closing_readable(struct conn *k, uint8_t *buf);
void closing_close_all(void);

#endif
