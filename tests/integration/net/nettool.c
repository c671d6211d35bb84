/* nettool: the network probe the net tests and benchmarks run inside sandboxes (built
 * static, copied in) and on the host. One verb per invocation; results on stdout as one
 * line, so a test asserts on text:
 *   connect HOST PORT [TIMEOUT_MS]      "ok <first line the server sent>" | "refused" |
 *                                       "unreachable" | "timeout" | "error <errno>"
 *   echo HOST PORT MSG [TIMEOUT_MS]     TCP: sends MSG, prints "ok <reply>"
 *   udp HOST PORT MSG [TIMEOUT_MS]      "ok <reply>" | "timeout" | "unreachable" | …
 *   resolve NAME [SERVER] [tcp]         "ok A1 A2…" | "NXDOMAIN" | "REFUSED" | "SERVFAIL" |
 *                                       "timeout"   (SERVER default: /etc/resolv.conf's)
 *   tcp-echo PORT / udp-echo PORT       echo servers (forever; fork per TCP client)
 *   raw                                 tries raw and packet sockets: "raw <errno> packet <errno>"
 *   tun                                 tries to create a TAP device: "tun <errno>"
 *   rawsyn SRC DST PORT [TIMEOUT_MS]    a hand-made TCP SYN from SRC (raw socket): "answered"
 *                                       (a TCP reply came back) | "prohibited" (ICMP) |
 *                                       "silent" | "raw <errno>" when raw sockets are refused
 *   bulk HOST PORT BYTES                sends BYTES, then reads BYTES back; prints
 *                                       "up <MB/s> down <MB/s>"
 *   bulk-server PORT                    reads BYTES (8-byte header) and sends as many back
 *   connrate HOST PORT SECONDS [N]      N clients (default 1), each opening connections one
 *                                       after another (connect, read the greeting, reset):
 *                                       "conns <n> rate <per s>"
 *   close-server PORT                   accepts connections, greets each with one byte, closes
 *                                       it at EOF or reset
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
addr_of (const char *host, int port, struct sockaddr_in *sa)
{
  memset (sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons ((uint16_t) port);
  return inet_pton (AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static const char *
err_word (int e)
{
  switch (e)
    {
    case ECONNREFUSED:
      return "refused";
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EACCES:
      return "unreachable";
    case ETIMEDOUT:
      return "timeout";
    default:
      return NULL;
    }
}

static void
print_err (int e)
{
  const char *w = err_word (e);
  if (w)
    printf ("%s\n", w);
  else
    printf ("error %s\n", strerror (e));
}

static int
cmd_connect (const char *host, int port, int timeout_ms)
{
  struct sockaddr_in sa;
  if (addr_of (host, port, &sa) < 0)
    return printf ("error bad address\n"), 2;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS)
    return print_err (errno), 1;
  struct pollfd p = { fd, POLLOUT, 0 };
  if (poll (&p, 1, timeout_ms) <= 0)
    return printf ("timeout\n"), 1;
  int e = 0;
  socklen_t l = sizeof e;
  getsockopt (fd, SOL_SOCKET, SO_ERROR, &e, &l);
  if (e)
    return print_err (e), 1;
  char buf[256] = "";
  p.events = POLLIN;
  ssize_t n = 0;
  if (poll (&p, 1, timeout_ms) > 0)
    n = read (fd, buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = '\0';
  char *nl = strchr (buf, '\n');
  if (nl)
    *nl = '\0';
  printf ("ok %s\n", buf);
  close (fd);
  return 0;
}

static int
cmd_echo (const char *host, int port, const char *msg, int timeout_ms)
{
  struct sockaddr_in sa;
  if (addr_of (host, port, &sa) < 0)
    return printf ("error bad address\n"), 2;
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return print_err (errno), 1;
  if (write (fd, msg, strlen (msg)) < 0)
    return print_err (errno), 1;
  char buf[2048];
  size_t got = 0;
  while (got < strlen (msg))
    {
      ssize_t n = read (fd, buf + got, sizeof buf - 1 - got);
      if (n <= 0)
        break;
      got += (size_t) n;
    }
  buf[got] = '\0';
  if (got == 0)
    return printf ("timeout\n"), 1;
  printf ("ok %s\n", buf);
  return 0;
}

static int
cmd_udp (const char *host, int port, const char *msg, int timeout_ms)
{
  struct sockaddr_in sa;
  if (addr_of (host, port, &sa) < 0)
    return printf ("error bad address\n"), 2;
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return print_err (errno), 1;
  if (send (fd, msg, strlen (msg), 0) < 0)
    return print_err (errno), 1;
  struct pollfd p = { fd, POLLIN, 0 };
  if (poll (&p, 1, timeout_ms) <= 0)
    return printf ("timeout\n"), 1;
  char buf[2048];
  ssize_t n = recv (fd, buf, sizeof buf - 1, 0);
  if (n < 0)
    return print_err (errno), 1;
  buf[n] = '\0';
  printf ("ok %s\n", buf);
  return 0;
}

static const char *
default_server (char *out, size_t n)
{
  FILE *f = fopen ("/etc/resolv.conf", "r");
  char line[256];
  snprintf (out, n, "127.0.0.1");
  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "nameserver %63s", out) == 1)
      break;
  if (f)
    fclose (f);
  return out;
}

static size_t
build_query (uint8_t *q, const char *name, uint16_t id)
{
  size_t n = 0;
  q[n++] = (uint8_t) (id >> 8);
  q[n++] = (uint8_t) id;
  q[n++] = 0x01; /* RD */
  q[n++] = 0;
  q[n++] = 0, q[n++] = 1, q[n++] = 0, q[n++] = 0, q[n++] = 0, q[n++] = 0, q[n++] = 0, q[n++] = 0;
  const char *p = name;
  while (*p)
    {
      const char *dot = strchr (p, '.');
      size_t l = dot ? (size_t) (dot - p) : strlen (p);
      q[n++] = (uint8_t) l;
      memcpy (q + n, p, l);
      n += l;
      p += l + (dot ? 1 : 0);
    }
  q[n++] = 0;
  q[n++] = 0, q[n++] = 1, q[n++] = 0, q[n++] = 1; /* A, IN */
  return n;
}

static size_t
skip_name (const uint8_t *m, size_t n, size_t off)
{
  while (off < n)
    {
      if ((m[off] & 0xc0) == 0xc0)
        return off + 2;
      if (m[off] == 0)
        return off + 1;
      off += (size_t) m[off] + 1;
    }
  return n;
}

static int
print_answer (const uint8_t *m, size_t n)
{
  static const char *const rc[] = { "ok", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
  if (n < 12)
    return printf ("error short answer\n"), 1;
  int rcode = m[3] & 0x0f;
  if (rcode != 0)
    return printf ("%s\n", rcode < 6 ? rc[rcode] : "rcode?"), 1;
  if (m[2] & 0x02)
    printf ("TC ");
  size_t off = skip_name (m, n, 12) + 4;
  int an = m[6] << 8 | m[7];
  printf ("ok");
  for (int i = 0; i < an && off + 10 <= n; i++)
    {
      off = skip_name (m, n, off);
      if (off + 10 > n)
        break;
      int type = m[off] << 8 | m[off + 1];
      int rdlen = m[off + 8] << 8 | m[off + 9];
      off += 10;
      if (type == 1 && rdlen == 4 && off + 4 <= n)
        printf (" %u.%u.%u.%u", m[off], m[off + 1], m[off + 2], m[off + 3]);
      off += (size_t) rdlen;
    }
  printf ("\n");
  return 0;
}

static int
cmd_resolve (const char *name, const char *server, bool tcp)
{
  char def[64];
  if (server == NULL)
    server = default_server (def, sizeof def);
  struct sockaddr_in sa;
  if (addr_of (server, 53, &sa) < 0)
    return printf ("error bad server\n"), 2;
  uint8_t q[600], a[65536];
  size_t qn = build_query (q + 2, name, (uint16_t) getpid ());
  int fd = socket (AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return print_err (errno), 1;
  struct timeval tv = { 5, 0 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!tcp)
    {
      if (send (fd, q + 2, qn, 0) < 0)
        return print_err (errno), 1;
      ssize_t n = recv (fd, a, sizeof a, 0);
      if (n < 0)
        return errno == EAGAIN ? (printf ("timeout\n"), 1) : (print_err (errno), 1);
      return print_answer (a, (size_t) n);
    }
  q[0] = (uint8_t) (qn >> 8);
  q[1] = (uint8_t) qn;
  if (send (fd, q, qn + 2, 0) < 0)
    return print_err (errno), 1;
  size_t got = 0, want = 0;
  while (got < 2 || got < 2 + want)
    {
      ssize_t n = recv (fd, a + got, sizeof a - got, 0);
      if (n <= 0)
        return n < 0 && errno == EAGAIN ? (printf ("timeout\n"), 1) : (printf ("error eof\n"), 1);
      got += (size_t) n;
      if (got >= 2)
        want = (size_t) (a[0] << 8 | a[1]);
    }
  return print_answer (a + 2, want);
}

static int
listen_on (int type, int port)
{
  int fd = socket (AF_INET, type, 0), one = 1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      perror ("bind");
      exit (1);
    }
  if (type == SOCK_STREAM)
    listen (fd, 128);
  return fd;
}

__attribute__ ((noreturn)) static int
cmd_tcp_echo (int port)
{
  signal (SIGCHLD, SIG_IGN);
  int l = listen_on (SOCK_STREAM, port);
  for (;;)
    {
      int c = accept (l, NULL, NULL);
      if (c < 0)
        continue;
      if (fork () == 0)
        {
          char buf[65536];
          ssize_t n;
          while ((n = read (c, buf, sizeof buf)) > 0)
            if (write (c, buf, (size_t) n) != n)
              break;
          _exit (0);
        }
      close (c);
    }
}

__attribute__ ((noreturn)) static int
cmd_udp_echo (int port)
{
  int fd = listen_on (SOCK_DGRAM, port);
  for (;;)
    {
      char buf[65536];
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &fl);
      if (n > 0)
        sendto (fd, buf, (size_t) n, 0, (struct sockaddr *) &from, fl);
    }
}

static int
cmd_raw (void)
{
  int r = socket (AF_INET, SOCK_RAW, IPPROTO_RAW);
  int re = r < 0 ? errno : 0;
  int p = socket (AF_PACKET, SOCK_RAW, htons (0x0003));
  int pe = p < 0 ? errno : 0;
  printf ("raw %s packet %s\n", re ? strerror (re) : "OPEN", pe ? strerror (pe) : "OPEN");
  return (r >= 0 || p >= 0) ? 1 : 0;
}

static uint16_t
csum16 (const void *data, size_t n, uint32_t sum)
{
  const uint8_t *p = data;
  for (; n > 1; n -= 2, p += 2)
    sum += (uint32_t) (p[0] << 8 | p[1]);
  if (n)
    sum += (uint32_t) p[0] << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t) ~sum;
}

static int
cmd_rawsyn (const char *src, const char *dst, int port, int timeout_ms)
{
  int s = socket (AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (s < 0)
    return printf ("raw %s\n", strerror (errno)), 0;
  int rt = socket (AF_INET, SOCK_RAW, IPPROTO_TCP);
  int ri = socket (AF_INET, SOCK_RAW, IPPROTO_ICMP);
  uint8_t pkt[40];
  memset (pkt, 0, sizeof pkt);
  struct in_addr sa, da;
  inet_pton (AF_INET, src, &sa);
  inet_pton (AF_INET, dst, &da);
  pkt[0] = 0x45, pkt[3] = 40, pkt[6] = 0x40, pkt[8] = 64, pkt[9] = IPPROTO_TCP;
  memcpy (pkt + 12, &sa, 4);
  memcpy (pkt + 16, &da, 4);
  uint16_t c = csum16 (pkt, 20, 0);
  pkt[10] = (uint8_t) (c >> 8), pkt[11] = (uint8_t) c;
  uint8_t *t = pkt + 20;
  t[0] = 45678 >> 8, t[1] = 45678 & 0xff, t[2] = (uint8_t) (port >> 8), t[3] = (uint8_t) port;
  t[7] = 1, t[12] = 5 << 4, t[13] = 0x02, t[14] = 0xff, t[15] = 0xff;
  uint8_t pseudo[12];
  memcpy (pseudo, &sa, 4);
  memcpy (pseudo + 4, &da, 4);
  pseudo[8] = 0, pseudo[9] = IPPROTO_TCP, pseudo[10] = 0, pseudo[11] = 20;
  uint32_t sum = 0;
  for (int i = 0; i < 12; i += 2)
    sum += (uint32_t) (pseudo[i] << 8 | pseudo[i + 1]);
  c = csum16 (t, 20, sum);
  t[16] = (uint8_t) (c >> 8), t[17] = (uint8_t) c;
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = da };
  if (sendto (s, pkt, sizeof pkt, 0, (struct sockaddr *) &to, sizeof to) < 0)
    return print_err (errno), 1;
  double end = now () + timeout_ms / 1000.0;
  while (now () < end)
    {
      struct pollfd p[2] = { { rt, POLLIN, 0 }, { ri, POLLIN, 0 } };
      if (poll (p, 2, (int) ((end - now ()) * 1000) + 1) <= 0)
        break;
      uint8_t buf[2048];
      if (p[0].revents & POLLIN)
        {
          ssize_t n = recv (rt, buf, sizeof buf, 0);
          size_t hl = n > 0 ? (size_t) (buf[0] & 0x0f) * 4 : 0;
          if (n >= (ssize_t) hl + 4 && memcmp (buf + 12, &da, 4) == 0
              && (buf[hl] << 8 | buf[hl + 1]) == port && (buf[hl + 2] << 8 | buf[hl + 3]) == 45678)
            return printf ("answered\n"), 0;
        }
      if (p[1].revents & POLLIN)
        {
          ssize_t n = recv (ri, buf, sizeof buf, 0);
          size_t hl = n > 0 ? (size_t) (buf[0] & 0x0f) * 4 : 0;
          if (n >= (ssize_t) hl + 8 && buf[hl] == 3)
            return printf ("prohibited\n"), 0;
        }
    }
  printf ("silent\n");
  return 0;
}

static int
cmd_tun (void)
{
  int fd = open ("/dev/net/tun", O_RDWR);
  if (fd < 0)
    return printf ("tun %s\n", strerror (errno)), 0;
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  strcpy (ifr.ifr_name, "evil0");
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    return printf ("tun %s\n", strerror (errno)), 0;
  printf ("tun CREATED\n");
  return 1;
}

static int
full_write (int fd, const void *buf, size_t n)
{
  const char *p = buf;
  while (n)
    {
      ssize_t w = write (fd, p, n);
      if (w <= 0)
        return -1;
      p += w;
      n -= (size_t) w;
    }
  return 0;
}

static int
cmd_bulk (const char *host, int port, unsigned long long bytes)
{
  struct sockaddr_in sa;
  addr_of (host, port, &sa);
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return print_err (errno), 1;
  uint8_t hdr[8];
  for (int i = 0; i < 8; i++)
    hdr[i] = (uint8_t) (bytes >> (56 - 8 * i));
  static char buf[1 << 20];
  memset (buf, 'x', sizeof buf);
  double t0 = now ();
  full_write (fd, hdr, 8);
  for (unsigned long long left = bytes; left;)
    {
      size_t c = left < sizeof buf ? (size_t) left : sizeof buf;
      if (full_write (fd, buf, c) < 0)
        return printf ("error write\n"), 1;
      left -= c;
    }
  /* The server acknowledges the upload with one byte once it has read everything. */
  char ack;
  if (read (fd, &ack, 1) != 1)
    return printf ("error ack\n"), 1;
  double t1 = now ();
  for (unsigned long long left = bytes; left;)
    {
      ssize_t n = read (fd, buf, left < sizeof buf ? (size_t) left : sizeof buf);
      if (n <= 0)
        return printf ("error read\n"), 1;
      left -= (unsigned long long) n;
    }
  double t2 = now ();
  printf ("up %.1f down %.1f\n", (double) bytes / (t1 - t0) / 1e6, (double) bytes / (t2 - t1) / 1e6);
  return 0;
}

__attribute__ ((noreturn)) static int
cmd_bulk_server (int port)
{
  signal (SIGCHLD, SIG_IGN);
  int l = listen_on (SOCK_STREAM, port);
  for (;;)
    {
      int c = accept (l, NULL, NULL);
      if (c < 0)
        continue;
      if (fork () == 0)
        {
          static char buf[1 << 20];
          uint8_t hdr[8];
          size_t got = 0;
          while (got < 8)
            {
              ssize_t n = read (c, hdr + got, 8 - got);
              if (n <= 0)
                _exit (1);
              got += (size_t) n;
            }
          unsigned long long bytes = 0;
          for (int i = 0; i < 8; i++)
            bytes = bytes << 8 | hdr[i];
          for (unsigned long long left = bytes; left;)
            {
              ssize_t n = read (c, buf, left < sizeof buf ? (size_t) left : sizeof buf);
              if (n <= 0)
                _exit (1);
              left -= (unsigned long long) n;
            }
          if (write (c, "k", 1) != 1)
            _exit (1);
          memset (buf, 'y', sizeof buf);
          for (unsigned long long left = bytes; left;)
            {
              size_t ch = left < sizeof buf ? (size_t) left : sizeof buf;
              if (full_write (c, buf, ch) < 0)
                _exit (1);
              left -= ch;
            }
          _exit (0);
        }
      close (c);
    }
}

__attribute__ ((noreturn)) /* Accepts many connections at once: greets each with one byte, reads it to EOF or reset,
 * then closes it. */
__attribute__ ((noreturn)) static int
cmd_close_server (int port)
{
  int l = listen_on (SOCK_STREAM, port);
  fcntl (l, F_SETFL, O_NONBLOCK);
  static struct pollfd p[4096];
  int n = 1;
  p[0] = (struct pollfd){ l, POLLIN, 0 };
  for (;;)
    {
      p[0].events = n < 4096 ? POLLIN : 0; /* full: stop accepting rather than spin */
      poll (p, (nfds_t) n, -1);
      for (int i = n - 1; i >= 1; i--)
        if (p[i].revents)
          {
            char buf[256];
            ssize_t r = read (p[i].fd, buf, sizeof buf);
            if (r <= 0)
              {
                close (p[i].fd);
                p[i] = p[--n];
              }
          }
      if (p[0].revents & POLLIN)
        for (int c; n < 4096 && (c = accept (l, NULL, NULL)) >= 0;)
          {
            if (write (c, "k", 1) != 1)
              {
                close (c);
                continue;
              }
            p[n++] = (struct pollfd){ c, POLLIN, 0 };
          }
    }
}

static unsigned long
connect_loop (const struct sockaddr_in *sa, double seconds, double *elapsed)
{
  double t0 = now (), t;
  unsigned long n = 0;
  while ((t = now ()) - t0 < seconds)
    {
      int fd = socket (AF_INET, SOCK_STREAM, 0);
      if (connect (fd, (const struct sockaddr *) sa, sizeof *sa) < 0)
        {
          print_err (errno);
          exit (1);
        }
      /* The server's greeting proves the connection reached it; the reset that ends it
       * leaves no TIME_WAIT behind to run the ports out during the measurement. */
      char b;
      if (read (fd, &b, 1) != 1)
        {
          printf ("error no greeting\n");
          exit (1);
        }
      struct linger lg = { 1, 0 };
      setsockopt (fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close (fd);
      n++;
    }
  *elapsed = t - t0;
  return n;
}

/* PARALLEL clients (processes) connecting one after another each, for SECONDS. */
static int
cmd_connrate (const char *host, int port, double seconds, int parallel)
{
  struct sockaddr_in sa;
  addr_of (host, port, &sa);
  if (parallel < 1)
    parallel = 1;
  int fds[2];
  if (pipe (fds) < 0)
    return print_err (errno), 1;
  for (int i = 0; i < parallel; i++)
    if (fork () == 0)
      {
        double el;
        unsigned long n = connect_loop (&sa, seconds, &el);
        char line[64];
        int len = snprintf (line, sizeof line, "%lu %f\n", n, el);
        if (write (fds[1], line, (size_t) len) != len)
          _exit (1);
        _exit (0);
      }
  close (fds[1]);
  FILE *f = fdopen (fds[0], "r");
  unsigned long total = 0;
  double longest = 0;
  for (int i = 0; i < parallel; i++)
    {
      unsigned long n;
      double el;
      if (fscanf (f, "%lu %lf", &n, &el) != 2)
        return printf ("error a client failed\n"), 1;
      total += n;
      if (el > longest)
        longest = el;
    }
  while (wait (NULL) > 0)
    ;
  printf ("conns %lu rate %.0f\n", total, (double) total / longest);
  return 0;
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  signal (SIGPIPE, SIG_IGN);
  if (argc < 2)
    return fprintf (stderr, "usage: see the header of nettool.c\n"), 2;
  const char *v = argv[1];
  if (strcmp (v, "connect") == 0 && argc >= 4)
    return cmd_connect (argv[2], atoi (argv[3]), argc > 4 ? atoi (argv[4]) : 3000);
  if (strcmp (v, "echo") == 0 && argc >= 5)
    return cmd_echo (argv[2], atoi (argv[3]), argv[4], argc > 5 ? atoi (argv[5]) : 3000);
  if (strcmp (v, "udp") == 0 && argc >= 5)
    return cmd_udp (argv[2], atoi (argv[3]), argv[4], argc > 5 ? atoi (argv[5]) : 3000);
  if (strcmp (v, "resolve") == 0 && argc >= 3)
    return cmd_resolve (argv[2], argc > 3 && strcmp (argv[3], "-") != 0 ? argv[3] : NULL,
                        argc > 4 && strcmp (argv[4], "tcp") == 0);
  if (strcmp (v, "tcp-echo") == 0 && argc >= 3)
    return cmd_tcp_echo (atoi (argv[2]));
  if (strcmp (v, "udp-echo") == 0 && argc >= 3)
    return cmd_udp_echo (atoi (argv[2]));
  if (strcmp (v, "raw") == 0)
    return cmd_raw ();
  if (strcmp (v, "rawsyn") == 0 && argc >= 5)
    return cmd_rawsyn (argv[2], argv[3], atoi (argv[4]), argc > 5 ? atoi (argv[5]) : 2000);
  if (strcmp (v, "tun") == 0)
    return cmd_tun ();
  if (strcmp (v, "bulk") == 0 && argc >= 5)
    return cmd_bulk (argv[2], atoi (argv[3]), strtoull (argv[4], NULL, 10));
  if (strcmp (v, "bulk-server") == 0 && argc >= 3)
    return cmd_bulk_server (atoi (argv[2]));
  if (strcmp (v, "close-server") == 0 && argc >= 3)
    return cmd_close_server (atoi (argv[2]));
  if (strcmp (v, "connrate") == 0 && argc >= 5)
    return cmd_connrate (argv[2], atoi (argv[3]), atof (argv[4]), argc > 5 ? atoi (argv[5]) : 1);
  fprintf (stderr, "nettool: unknown verb or missing arguments\n");
  return 2;
}
