/* A tiny test harness: each test is a function registered in a table; a failed check prints
 * file:line and the expression and marks the test failed. Output is TAP-like so meson shows
 * which test broke. */
#ifndef MSB_TEST_H
#define MSB_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int msb_test_failed_;

#define CHECK(expr)                                                                    \
  do                                                                                   \
    {                                                                                  \
      if (!(expr))                                                                     \
        {                                                                              \
          fprintf (stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
          msb_test_failed_ = 1;                                                        \
        }                                                                              \
    }                                                                                  \
  while (0)

#define CHECK_EQ_INT(a, b)                                                                   \
  do                                                                                         \
    {                                                                                        \
      long long va_ = (long long) (a), vb_ = (long long) (b);                                \
      if (va_ != vb_)                                                                        \
        {                                                                                    \
          fprintf (stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, \
                   #b, va_, vb_);                                                            \
          msb_test_failed_ = 1;                                                              \
        }                                                                                    \
    }                                                                                        \
  while (0)

#define CHECK_EQ_STR(a, b)                                                                   \
  do                                                                                         \
    {                                                                                        \
      const char *sa_ = (a), *sb_ = (b);                                                     \
      if (sa_ == NULL || sb_ == NULL || strcmp (sa_, sb_) != 0)                              \
        {                                                                                    \
          fprintf (stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
                   #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                      \
          msb_test_failed_ = 1;                                                              \
        }                                                                                    \
    }                                                                                        \
  while (0)

#define CHECK_MEM(a, b, n) CHECK (memcmp ((a), (b), (n)) == 0)

typedef struct msb_test_case
{
  const char *name;
  void (*fn) (void);
} msb_test_case;

#define TEST(name) static void name (void)
#define TEST_ENTRY(name) { #name, name }

/* Runs every case (or only those named on the command line); exit status 1 if any failed. */
static inline int
msb_test_main (const msb_test_case *cases, size_t n, int argc, char **argv)
{
  int failures = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (argc > 1)
        {
          int wanted = 0;
          for (int a = 1; a < argc; a++)
            wanted |= strcmp (argv[a], cases[i].name) == 0;
          if (!wanted)
            continue;
        }
      msb_test_failed_ = 0;
      cases[i].fn ();
      printf ("%s %zu - %s\n", msb_test_failed_ ? "not ok" : "ok", i + 1, cases[i].name);
      fflush (stdout);
      failures += msb_test_failed_;
    }
  return failures ? 1 : 0;
}

#define TEST_MAIN(...)                                                           \
  int main (int argc, char **argv)                                               \
  {                                                                              \
    static const msb_test_case cases_[] = { __VA_ARGS__ };                       \
    return msb_test_main (cases_, sizeof cases_ / sizeof cases_[0], argc, argv); \
  }

#endif
