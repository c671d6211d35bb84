/* DNS message parsing and the engine's own answers (see dns_msg.h). */
#include "runtime/net/dns_msg.h"

#include <string.h>
#include <strings.h>

#define HDR 12
#define MAX_JUMPS 64

static uint16_t
rd16 (const uint8_t *p)
{
  return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t
rd32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void
wr16 (uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t) (v >> 8);
  p[1] = (uint8_t) v;
}

uint16_t
msb_dns_id (const uint8_t *m)
{
  return rd16 (m);
}

void
msb_dns_set_id (uint8_t *m, uint16_t id)
{
  wr16 (m, id);
}

/* Reads the (possibly compressed) name at `off` into `out` (lowercase, dotted); *next is the
 * offset after the name where it appears. Labels hold printable ASCII other than '.', so a
 * label can never pass for two. Returns -1 on any violation. */
static int
read_name (const uint8_t *m, size_t n, size_t off, char out[MSB_DNS_NAME_MAX], size_t *next)
{
  size_t pos = off, len = 0;
  int jumps = 0;
  bool jumped = false;
  for (;;)
    {
      if (pos >= n)
        return -1;
      uint8_t l = m[pos];
      if ((l & 0xc0) == 0xc0)
        {
          if (pos + 1 >= n || ++jumps > MAX_JUMPS)
            return -1;
          size_t ptr = (size_t) (l & 0x3f) << 8 | m[pos + 1];
          /* Backwards only (with the jump count this bounds the walk), and never into the
           * header, which holds no names (and which answers rewrite). */
          if (ptr >= pos || ptr < HDR)
            return -1;
          if (!jumped)
            *next = pos + 2;
          jumped = true;
          pos = ptr;
          continue;
        }
      if (l & 0xc0)
        return -1;
      if (l == 0)
        {
          if (!jumped)
            *next = pos + 1;
          break;
        }
      if (pos + 1 + l > n || len + (len ? 1 : 0) + l > 253)
        return -1;
      if (len)
        out[len++] = '.';
      for (size_t i = 0; i < l; i++)
        {
          uint8_t c = m[pos + 1 + i];
          if (c <= 0x20 || c >= 0x7f || c == '.')
            return -1;
          out[len++] = (char) (c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
      pos += 1 + (size_t) l;
    }
  out[len] = '\0';
  return 0;
}

static int
read_question (const uint8_t *m, size_t n, msb_dns_question *q)
{
  size_t next = 0;
  if (read_name (m, n, HDR, q->name, &next) < 0 || next + 4 > n)
    return -1;
  q->qtype = rd16 (m + next);
  q->qclass = rd16 (m + next + 2);
  q->end = next + 4;
  return 0;
}

int
msb_dns_parse_query (const uint8_t *m, size_t n, msb_dns_question *q)
{
  memset (q, 0, sizeof *q);
  if (n < HDR || (m[2] & 0x80)) /* too short, or a response */
    return -1;
  if (n > MSB_DNS_MAX_QUERY)
    return -1;
  if (((m[2] >> 3) & 0x0f) != 0) /* only QUERY */
    return MSB_DNS_NOTIMP;
  if (rd16 (m + 4) != 1 || read_question (m, n, q) < 0)
    return MSB_DNS_FORMERR;
  return 0;
}

static void
add_name (msb_dns_response *r, const char *name)
{
  for (size_t i = 0; i < r->n_names; i++)
    if (strcmp (r->names[i], name) == 0)
      return;
  if (r->n_names < MSB_DNS_MAX_NAMES)
    memcpy (r->names[r->n_names++], name, strlen (name) + 1);
}

int
msb_dns_parse_response (const uint8_t *m, size_t n, msb_dns_response *r)
{
  memset (r, 0, sizeof *r);
  if (n < HDR || !(m[2] & 0x80))
    return -1;
  r->id = rd16 (m);
  r->truncated = m[2] & 0x02;
  r->rcode = m[3] & 0x0f;
  if (rd16 (m + 4) != 1 || read_question (m, n, &r->q) < 0)
    return -1;
  size_t counts[3] = { rd16 (m + 6), rd16 (m + 8), rd16 (m + 10) };
  size_t off = r->q.end;
  for (int section = 0; section < 3; section++)
    for (size_t i = 0; i < counts[section]; i++)
      {
        char owner[MSB_DNS_NAME_MAX];
        size_t next = 0;
        if (read_name (m, n, off, owner, &next) < 0 || next + 10 > n)
          {
            /* A truncated response may end in the middle of a record. */
            if (r->truncated)
              return 0;
            return -1;
          }
        uint16_t type = rd16 (m + next), klass = rd16 (m + next + 2);
        uint32_t ttl = rd32 (m + next + 4);
        size_t rdlen = rd16 (m + next + 8);
        size_t rdata = next + 10;
        if (rdata + rdlen > n)
          return r->truncated ? 0 : -1;
        off = rdata + rdlen;
        if (ttl > 0x7fffffff)
          ttl = 0;
        if (klass != MSB_DNS_CLASS_IN)
          continue;
        bool is_a = type == MSB_DNS_TYPE_A && rdlen == 4;
        bool is_aaaa = type == MSB_DNS_TYPE_AAAA && rdlen == 16;
        if ((type == MSB_DNS_TYPE_A || type == MSB_DNS_TYPE_AAAA) && !is_a && !is_aaaa)
          return -1;
        if (is_a || is_aaaa)
          {
            if (r->n_addrs == MSB_DNS_MAX_ADDRS)
              {
                r->too_many_addrs = true;
                continue;
              }
            msb_dns_addr_rr *a = &r->addrs[r->n_addrs++];
            if (is_a)
              {
                uint32_t be;
                memcpy (&be, m + rdata, 4);
                msb_net_addr_from_v4 (&a->addr, be);
              }
            else
              memcpy (a->addr.b, m + rdata, 16);
            a->ttl = ttl;
            a->in_answer = section == 0;
            if (section == 0)
              add_name (r, owner);
          }
        else if (type == MSB_DNS_TYPE_CNAME && section == 0)
          {
            char target[MSB_DNS_NAME_MAX];
            size_t tnext = 0;
            if (read_name (m, rdata + rdlen, rdata, target, &tnext) < 0)
              return -1;
            add_name (r, owner);
            add_name (r, target);
          }
      }
  return 0;
}

bool
msb_dns_same_question (const msb_dns_question *a, const msb_dns_question *b)
{
  return a->qtype == b->qtype && a->qclass == b->qclass && strcmp (a->name, b->name) == 0;
}

static size_t
answer_header (const uint8_t *query, const msb_dns_question *q, uint8_t rcode, bool aa, bool tc,
               uint16_t ancount, uint8_t *out, size_t cap)
{
  if (q->end > cap)
    return 0;
  memcpy (out, query, q->end);
  /* QR, same opcode, RD copied, RA; AA and TC as asked. */
  out[2] = (uint8_t) (0x80 | (query[2] & 0x79) | (aa ? 0x04 : 0) | (tc ? 0x02 : 0));
  out[3] = (uint8_t) (0x80 | (rcode & 0x0f));
  wr16 (out + 4, 1);
  wr16 (out + 6, ancount);
  wr16 (out + 8, 0);
  wr16 (out + 10, 0);
  return q->end;
}

size_t
msb_dns_build_rcode (const uint8_t *query, const msb_dns_question *q, uint8_t rcode, bool tc,
                     uint8_t *out, size_t cap)
{
  return answer_header (query, q, rcode, false, tc, 0, out, cap);
}

size_t
msb_dns_build_a (const uint8_t *query, const msb_dns_question *q, const uint32_t *addrs, size_t n,
                 uint32_t ttl, uint8_t *out, size_t cap)
{
  if (q->qtype != MSB_DNS_TYPE_A || q->qclass != MSB_DNS_CLASS_IN)
    n = 0;
  size_t len = answer_header (query, q, MSB_DNS_NOERROR, true, false, (uint16_t) n, out, cap);
  if (len == 0 || len + n * 16 > cap)
    return 0;
  for (size_t i = 0; i < n; i++)
    {
      uint8_t *rr = out + len;
      wr16 (rr, 0xc000 | HDR); /* the question's name */
      wr16 (rr + 2, MSB_DNS_TYPE_A);
      wr16 (rr + 4, MSB_DNS_CLASS_IN);
      wr16 (rr + 6, (uint16_t) (ttl >> 16));
      wr16 (rr + 8, (uint16_t) ttl);
      wr16 (rr + 10, 4);
      memcpy (rr + 12, &addrs[i], 4);
      len += 16;
    }
  return len;
}
