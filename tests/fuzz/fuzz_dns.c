/* Fuzzes the DNS codec of the network engine (runtime/net/dns_msg.c) the way the interceptor
 * meets hostile bytes: as a query from the sandbox and as an answer from upstream. Every
 * query that parses is answered with each answer the engine builds, and those must parse
 * back with the same question; every name read must be printable, bounded and NUL-ended.
 */
// FUZZ_SOURCES: runtime/net/dns_msg.c lib/net_spec.c common/util.c common/error.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/net/dns_msg.h"

#define FUZZ_ASSERT(cond)                                                                 \
  do                                                                                      \
    {                                                                                     \
      if (!(cond))                                                                        \
        {                                                                                 \
          fprintf (stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);   \
          abort ();                                                                       \
        }                                                                                 \
    }                                                                                     \
  while (0)

static void
check_name (const char *n)
{
  size_t len = strnlen (n, MSB_DNS_NAME_MAX);
  FUZZ_ASSERT (len <= 253);
  for (size_t i = 0; i < len; i++)
    FUZZ_ASSERT (n[i] > 0x20 && n[i] < 0x7f && !(n[i] >= 'A' && n[i] <= 'Z'));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static msb_dns_response r;
  msb_dns_question q;
  if (msb_dns_parse_query (data, size, &q) == 0)
    {
      check_name (q.name);
      FUZZ_ASSERT (q.end <= size);
      static uint8_t out[MSB_DNS_MAX_QUERY + 64];
      uint32_t addr = 0x0100007f;
      size_t n = msb_dns_build_a (data, &q, &addr, 1, 60, out, sizeof out);
      FUZZ_ASSERT (n > 0);
      FUZZ_ASSERT (msb_dns_parse_response (out, n, &r) == 0);
      FUZZ_ASSERT (msb_dns_same_question (&r.q, &q));
      n = msb_dns_build_rcode (data, &q, MSB_DNS_NXDOMAIN, true, out, sizeof out);
      FUZZ_ASSERT (n > 0 && msb_dns_parse_response (out, n, &r) == 0);
      FUZZ_ASSERT (r.rcode == MSB_DNS_NXDOMAIN && r.truncated && r.n_addrs == 0);
    }
  if (msb_dns_parse_response (data, size, &r) == 0)
    {
      check_name (r.q.name);
      FUZZ_ASSERT (r.n_addrs <= MSB_DNS_MAX_ADDRS);
      FUZZ_ASSERT (r.n_names <= MSB_DNS_MAX_NAMES);
      for (size_t i = 0; i < r.n_names; i++)
        check_name (r.names[i]);
    }
  return 0;
}
