/*
 * Batched datagram I/O for the UDP listener: recvmmsg(2) takes a batch of queries in one system call
 * and one call into JavaScript; sendmmsg(2) sends the answers computed in that call together.
 *
 * Node's dgram pays a system call, a call into JavaScript, a Buffer and an address object for every
 * datagram, and another system call and a send request for every answer. On one core that is most of
 * what a cache hit costs. The buffers are JavaScript's own (the listener allocates them and keeps them),
 * so JavaScript reads queries and writes answers in place; this file only moves bytes and addresses.
 *
 * Only N-API and libuv's stable uv_poll_t are used, so one build serves Node 20, 22 and 24.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define ADDR_SIZE 28 /* sizeof(struct sockaddr_in6); a sockaddr_in fits in its first 16 bytes */
#define MAX_BATCH 256
/* Batches taken per readable event before the loop gets a turn (timers, TCP, upstream answers). */
#define MAX_ROUNDS 8

typedef struct {
  int fd;
  int closing;      /* close() or the environment's teardown began closing the socket */
  int poll_closed;  /* libuv let go of `poll`: the socket is closed */
  int wrapper_gone; /* the JS handle was collected: nothing refers to this struct from JS */
  uv_poll_t poll;
  napi_env env;
  napi_ref self;      /* the JS handle object: keeps the buffers below alive */
  napi_ref on_batch;  /* function(count): JS answers rx[0..count) */
  napi_async_context async_context;
  napi_async_cleanup_hook_handle teardown; /* lets the environment end only after `poll` closed */
  unsigned batch;
  size_t rx_slot, tx_slot;
  uint8_t *rx;        /* batch * rx_slot query bytes */
  int32_t *rx_len;    /* batch lengths; -1: the datagram was longer than rx_slot */
  uint8_t *rx_addr;   /* batch * ADDR_SIZE sender addresses */
  uint8_t *tx;        /* batch * tx_slot answer bytes */
  int32_t *tx_meta;   /* batch * 2: answer length, index of the query it answers */
  struct mmsghdr rmsg[MAX_BATCH];
  struct iovec riov[MAX_BATCH];
  struct mmsghdr smsg[MAX_BATCH];
  struct iovec siov[MAX_BATCH];
} batched_udp;

static const char *errno_code(int err) {
  switch (err) {
    case EACCES: return "EACCES";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    default: return "EIO";
  }
}

/* Throws an Error whose code is the errno name, as Node's own socket errors do (listen-error.ts reads it). */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, errno_code(err), message);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

static int get_buffer(napi_env env, napi_value value, void **data, size_t *length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) return 0;
  return napi_get_buffer_info(env, value, data, length) == napi_ok;
}

static int get_int(napi_env env, napi_value value, int32_t *out) {
  return napi_get_value_int32(env, value, out) == napi_ok;
}

static void on_readable(uv_poll_t *poll, int status, int events);

/* The struct goes when both JS (the handle's finalizer) and libuv (the poll's close callback) let go. */
static void release(batched_udp *u) {
  if (u->wrapper_gone && u->poll_closed) free(u);
}

static void on_closed(uv_handle_t *handle) {
  batched_udp *u = handle->data;
  u->poll_closed = 1;
  /* Until now the environment (a worker thread ending) must not unload this module: libuv calls this. */
  napi_remove_async_cleanup_hook(u->teardown);
  release(u);
}

/* The socket closes now, as dgram's does, so the port is free when close() returns; the poll later. */
static void begin_close(batched_udp *u) {
  if (u->closing) return;
  u->closing = 1;
  uv_poll_stop(&u->poll);
  close(u->fd);
  u->fd = -1;
  uv_close((uv_handle_t *)&u->poll, on_closed);
}

/*
 * A worker thread or the process ending without close() (worker.terminate()): the poll must leave the
 * loop, and its close callback run, before the environment unloads this module. An async cleanup hook
 * holds the teardown until on_closed removes it.
 */
static void on_env_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  begin_close(arg);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  batched_udp *u = data;
  u->wrapper_gone = 1;
  begin_close(u);
  release(u);
}

/*
 * open(family, ip, port, reusePort, ipv6Only, recvBuffer, sendBuffer, rx, rxLen, rxAddr, tx, txMeta,
 *      onBatch) -> handle. Binds the socket and starts reading; the handle's port property is the bound port.
 */
static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  napi_value this_arg;
  napi_get_cb_info(env, info, &argc, argv, &this_arg, NULL);
  if (argc != 13) return throw_type(env, "open() takes 13 arguments");

  int32_t family, port, reuse_port, v6only, recv_buffer, send_buffer;
  char ip[INET6_ADDRSTRLEN + 1];
  size_t ip_length = 0;
  if (!get_int(env, argv[0], &family) || (family != 4 && family != 6)) return throw_type(env, "family: 4 or 6");
  if (napi_get_value_string_latin1(env, argv[1], ip, sizeof ip, &ip_length) != napi_ok)
    return throw_type(env, "ip: a string");
  if (!get_int(env, argv[2], &port) || port < 0 || port > 65535) return throw_type(env, "port: 0-65535");
  if (!get_int(env, argv[3], &reuse_port) || !get_int(env, argv[4], &v6only) ||
      !get_int(env, argv[5], &recv_buffer) || !get_int(env, argv[6], &send_buffer))
    return throw_type(env, "reusePort, ipv6Only, recvBuffer, sendBuffer: integers");

  void *rx, *rx_len, *rx_addr, *tx, *tx_meta;
  size_t rx_size, rx_len_size, rx_addr_size, tx_size, tx_meta_size;
  if (!get_buffer(env, argv[7], &rx, &rx_size) || !get_buffer(env, argv[8], &rx_len, &rx_len_size) ||
      !get_buffer(env, argv[9], &rx_addr, &rx_addr_size) || !get_buffer(env, argv[10], &tx, &tx_size) ||
      !get_buffer(env, argv[11], &tx_meta, &tx_meta_size))
    return throw_type(env, "rx, rxLen, rxAddr, tx, txMeta: Buffers");
  size_t batch = rx_len_size / sizeof(int32_t);
  if (batch == 0 || batch > MAX_BATCH || rx_addr_size != batch * ADDR_SIZE ||
      tx_meta_size != batch * 2 * sizeof(int32_t) || rx_size % batch != 0 || tx_size % batch != 0)
    return throw_type(env, "buffer sizes do not agree on one batch size");
  napi_valuetype type;
  napi_typeof(env, argv[12], &type);
  if (type != napi_function) return throw_type(env, "onBatch: a function");

  struct sockaddr_storage addr;
  socklen_t addr_length;
  memset(&addr, 0, sizeof addr);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &a->sin_addr) != 1) return throw_type(env, "ip: not an IPv4 address");
    addr_length = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1) return throw_type(env, "ip: not an IPv6 address");
    addr_length = sizeof *a;
  }

  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  if (family == 6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &one : &(int){0}, sizeof(int));
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "setsockopt(SO_REUSEPORT)", err);
  }
  if (bind(fd, (struct sockaddr *)&addr, addr_length) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  /* Wishes, as in dgram: the kernel caps them at net.core.[rw]mem_max and a refusal is not fatal. */
  if (recv_buffer > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &recv_buffer, sizeof recv_buffer);
  if (send_buffer > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
  struct sockaddr_storage bound;
  socklen_t bound_length = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bound_length);
  int bound_port = ntohs(family == 4 ? ((struct sockaddr_in *)&bound)->sin_port
                                     : ((struct sockaddr_in6 *)&bound)->sin6_port);

  batched_udp *u = calloc(1, sizeof *u);
  if (u == NULL) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  u->fd = fd;
  u->env = env;
  u->batch = (unsigned)batch;
  u->rx_slot = rx_size / batch;
  u->tx_slot = tx_size / batch;
  u->rx = rx;
  u->rx_len = rx_len;
  u->rx_addr = rx_addr;
  u->tx = tx;
  u->tx_meta = tx_meta;
  for (unsigned i = 0; i < batch; i++) {
    u->riov[i].iov_base = u->rx + i * u->rx_slot;
    u->riov[i].iov_len = u->rx_slot;
    u->rmsg[i].msg_hdr.msg_iov = &u->riov[i];
    u->rmsg[i].msg_hdr.msg_iovlen = 1;
    u->rmsg[i].msg_hdr.msg_name = u->rx_addr + i * ADDR_SIZE;
    u->smsg[i].msg_hdr.msg_iov = &u->siov[i];
    u->smsg[i].msg_hdr.msg_iovlen = 1;
  }

  napi_value handle, resource_name, port_value;
  napi_create_object(env, &handle);
  napi_create_int32(env, bound_port, &port_value);
  napi_set_named_property(env, handle, "port", port_value);
  /* The buffers live as long as the handle: JS and this file share them. */
  const char *names[5] = {"rx", "rxLen", "rxAddr", "tx", "txMeta"};
  for (int i = 0; i < 5; i++) napi_set_named_property(env, handle, names[i], argv[7 + i]);
  napi_set_named_property(env, handle, "onBatch", argv[12]);
  napi_wrap(env, handle, u, finalize, NULL, NULL);
  napi_create_reference(env, handle, 1, &u->self);
  napi_create_reference(env, argv[12], 1, &u->on_batch);
  napi_create_string_utf8(env, "roje:udp", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, handle, resource_name, &u->async_context);

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &u->poll, fd);
  u->poll.data = u;
  uv_poll_start(&u->poll, UV_READABLE, on_readable);
  napi_add_async_cleanup_hook(env, on_env_teardown, u, &u->teardown);
  return handle;
}

static batched_udp *unwrap(napi_env env, napi_value handle) {
  batched_udp *u = NULL;
  if (napi_unwrap(env, handle, (void **)&u) != napi_ok || u == NULL) {
    throw_type(env, "not a batched UDP handle");
    return NULL;
  }
  return u;
}

/* A method's arguments, the handle first: the handle's struct, or NULL with an exception pending. */
static batched_udp *method_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < count) {
    throw_type(env, "too few arguments");
    return NULL;
  }
  return unwrap(env, argv[0]);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  batched_udp *u = poll->data;
  if (status < 0 || u->closing) return;
  napi_env env = u->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value handle, callback, count_value, result;
  napi_get_reference_value(env, u->self, &handle);
  napi_get_reference_value(env, u->on_batch, &callback);
  for (int round = 0; round < MAX_ROUNDS && !u->closing; round++) {
    for (unsigned i = 0; i < u->batch; i++) u->rmsg[i].msg_hdr.msg_namelen = ADDR_SIZE;
    int count = recvmmsg(u->fd, u->rmsg, u->batch, MSG_DONTWAIT, NULL);
    if (count <= 0) break; /* EAGAIN: drained; other errors (ICMP reports) are per-datagram noise */
    for (int i = 0; i < count; i++)
      u->rx_len[i] = (u->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)u->rmsg[i].msg_len;
    napi_create_int32(env, count, &count_value);
    /* make_callback: an exception goes to 'uncaughtException' and microtasks run, as for dgram's events. */
    if (napi_make_callback(env, u->async_context, handle, callback, 1, &count_value, &result) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
      break;
    }
    if ((unsigned)count < u->batch) break; /* the queue is empty: skip the recvmmsg that would say so */
  }
  napi_close_handle_scope(env, scope);
}

/* flush(handle, n) -> sent: sends tx answers 0..n) to the senders of the queries their meta names. */
static napi_value flush(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  batched_udp *u = method_args(env, info, 2, argv);
  if (u == NULL) return NULL;
  int32_t n;
  if (!get_int(env, argv[1], &n) || n < 0 || (unsigned)n > u->batch) return throw_type(env, "n: 0 to batch");
  int sent_total = 0;
  if (n > 0 && !u->closing) {
    for (int i = 0; i < n; i++) {
      int32_t length = u->tx_meta[2 * i];
      int32_t query = u->tx_meta[2 * i + 1];
      if (length < 0 || (size_t)length > u->tx_slot || query < 0 || (unsigned)query >= u->batch) {
        return throw_type(env, "txMeta: length or query index out of range");
      }
      u->siov[i].iov_base = u->tx + (size_t)i * u->tx_slot;
      u->siov[i].iov_len = (size_t)length;
      u->smsg[i].msg_hdr.msg_name = u->rx_addr + (size_t)query * ADDR_SIZE;
      u->smsg[i].msg_hdr.msg_namelen = u->rmsg[query].msg_hdr.msg_namelen;
    }
    int at = 0;
    while (at < n) {
      int sent = sendmmsg(u->fd, u->smsg + at, (unsigned)(n - at), MSG_DONTWAIT);
      if (sent > 0) {
        at += sent;
        sent_total += sent;
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      /* The send buffer is full or this destination failed: drop it, as a busy server must, and go on. */
      at++;
    }
  }
  napi_value out;
  napi_create_int32(env, sent_total, &out);
  return out;
}

/* sendTo(handle, answer, address) -> sent: one answer that was computed later (a cache miss). */
static napi_value send_to(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  batched_udp *u = method_args(env, info, 3, argv);
  if (u == NULL) return NULL;
  void *data, *addr;
  size_t length, addr_size;
  if (!get_buffer(env, argv[1], &data, &length) || !get_buffer(env, argv[2], &addr, &addr_size) ||
      addr_size != ADDR_SIZE)
    return throw_type(env, "sendTo(handle, Buffer, 28-byte address)");
  bool ok = false;
  if (!u->closing) {
    sa_family_t family;
    memcpy(&family, addr, sizeof family);
    socklen_t addr_length = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    ssize_t sent;
    do sent = sendto(u->fd, data, length, MSG_DONTWAIT, addr, addr_length);
    while (sent < 0 && errno == EINTR);
    ok = sent >= 0;
  }
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

/* ntop(handle, index) -> the sender address of query index as text (IPv6 senders only need it). */
static napi_value ntop(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  batched_udp *u = method_args(env, info, 2, argv);
  if (u == NULL) return NULL;
  int32_t index;
  if (!get_int(env, argv[1], &index) || index < 0 || (unsigned)index >= u->batch) return throw_type(env, "index");
  const uint8_t *addr = u->rx_addr + (size_t)index * ADDR_SIZE;
  sa_family_t family;
  memcpy(&family, addr, sizeof family);
  char text[INET6_ADDRSTRLEN];
  const void *bytes = family == AF_INET ? (const void *)&((const struct sockaddr_in *)addr)->sin_addr
                                        : (const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
  if (inet_ntop(family, bytes, text, sizeof text) == NULL) return throw_errno(env, "inet_ntop", errno);
  napi_value out;
  napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &out);
  return out;
}

/* close(handle): stops reading and closes the socket; later calls do nothing. */
static napi_value close_socket(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  batched_udp *u = method_args(env, info, 1, argv);
  if (u == NULL) return NULL;
  if (!u->closing) {
    begin_close(u);
    napi_async_destroy(env, u->async_context);
    napi_delete_reference(env, u->on_batch);
    /* The weak self reference lets the handle, and with it this struct, go once JS drops it. */
    napi_reference_unref(env, u->self, NULL);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"open", NULL, open_socket, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, flush, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, send_to, NULL, NULL, NULL, napi_default, NULL},
      {"ntop", NULL, ntop, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_socket, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods);
  napi_value max_batch, addr_size;
  napi_create_int32(env, MAX_BATCH, &max_batch);
  napi_create_int32(env, ADDR_SIZE, &addr_size);
  napi_set_named_property(env, exports, "maxBatch", max_batch);
  napi_set_named_property(env, exports, "addressSize", addr_size);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
