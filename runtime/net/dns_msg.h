/* DNS messages (RFC 1035) as the interceptor needs them: the one question of a query, the
 * address records and name chain of a response, and the few answers the engine writes
 * itself (an rcode, the gateway's address). Both queries (from the guest) and responses
 * (from upstream) are hostile input: every offset is bounds-checked, compression pointers
 * must point backwards and are counted, names are at most 253 bytes of printable ASCII, and
 * the number of records kept is capped. Pure functions; fuzzed by tests/fuzz/fuzz_dns.c. */
#ifndef MSB_RUNTIME_NET_DNS_MSG_H
#define MSB_RUNTIME_NET_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net_spec.h"

#define MSB_DNS_NAME_MAX 256 /* presentation form with its NUL */
#define MSB_DNS_MAX_ADDRS 256
#define MSB_DNS_MAX_NAMES 16
#define MSB_DNS_MAX_QUERY 4096

#define MSB_DNS_TYPE_A 1
#define MSB_DNS_TYPE_CNAME 5
#define MSB_DNS_TYPE_AAAA 28
#define MSB_DNS_CLASS_IN 1

#define MSB_DNS_NOERROR 0
#define MSB_DNS_FORMERR 1
#define MSB_DNS_SERVFAIL 2
#define MSB_DNS_NXDOMAIN 3
#define MSB_DNS_NOTIMP 4
#define MSB_DNS_REFUSED 5

typedef struct msb_dns_question
{
  char name[MSB_DNS_NAME_MAX]; /* lowercase, no trailing dot; "" for the root */
  uint16_t qtype;
  uint16_t qclass;
  size_t end;                  /* offset just past the question */
} msb_dns_question;

typedef struct msb_dns_addr_rr
{
  msb_net_addr addr;
  uint32_t ttl;
  bool in_answer; /* else authority/additional */
} msb_dns_addr_rr;

typedef struct msb_dns_response
{
  uint16_t id;
  uint8_t rcode;
  bool truncated;
  msb_dns_question q;
  msb_dns_addr_rr addrs[MSB_DNS_MAX_ADDRS];
  size_t n_addrs;
  bool too_many_addrs;
  /* Owner names of the answer's address and CNAME records and CNAME targets: the names by
   * which the sandbox now knows the answer's addresses. */
  char names[MSB_DNS_MAX_NAMES][MSB_DNS_NAME_MAX];
  size_t n_names;
} msb_dns_response;

uint16_t msb_dns_id (const uint8_t *m);
void msb_dns_set_id (uint8_t *m, uint16_t id);

/* A query from the guest: 0 when it is a standard query with one question (filled in *q),
 * an rcode to answer with (FORMERR, NOTIMP) when it is not, -1 when it is not even a DNS
 * query header (drop it). */
int msb_dns_parse_query (const uint8_t *m, size_t n, msb_dns_question *q);

/* An upstream response; -1 when malformed. */
int msb_dns_parse_response (const uint8_t *m, size_t n, msb_dns_response *r);

/* Does the response's question equal the query's (name case-insensitively, type, class)? */
bool msb_dns_same_question (const msb_dns_question *a, const msb_dns_question *b);

/* An answer to `query` (whose question ends at q->end) carrying only `rcode`; with `tc`,
 * the truncation bit (ask again over TCP). Returns its length, 0 if `cap` is too small. */
size_t msb_dns_build_rcode (const uint8_t *query, const msb_dns_question *q, uint8_t rcode,
                            bool tc, uint8_t *out, size_t cap);
/* An authoritative answer: `n` IPv4 addresses (network order) for an A question, none (no
 * data) for any other type. */
size_t msb_dns_build_a (const uint8_t *query, const msb_dns_question *q, const uint32_t *addrs,
                        size_t n, uint32_t ttl, uint8_t *out, size_t cap);

#endif
