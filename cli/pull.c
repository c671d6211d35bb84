/* `msb pull REF` (and `msb image pull`): resolve and download an image with per-layer
 * progress on stderr (bars on a terminal, plain lines otherwise, nothing with -q); the
 * canonical reference and digest go to stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static int
usage (FILE *to)
{
  fprintf (to,
           "usage: msb pull [flags] REFERENCE\n"
           "  -q, --quiet                print only the reference\n"
           "  -f, --force                resolve against the registry even if cached (default)\n"
           "      --insecure             allow plain HTTP and unverified TLS for this registry\n"
           "      --ca-certs FILE        extra PEM CA file to trust (repeatable)\n"
           "      --platform OS/ARCH     pick this platform from an image index\n"
           "      --username USER        credentials for this pull (with --password-stdin)\n"
           "      --password-stdin       read the password from stdin\n"
           "      --materialize MODE     layered (default; flat and all need the vm backend)\n");
  return to == stdout ? 0 : 1;
}

/* Reads one line from stdin (the password), without its newline. */
char *
cli_read_secret_line (void)
{
  size_t cap = 0;
  char *line = NULL;
  ssize_t n = getline (&line, &cap, stdin);
  if (n < 0)
    {
      free (line);
      return NULL;
    }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return line;
}

int
cli_pull (int argc, char **argv)
{
  bool quiet = false, insecure = false, password_stdin = false;
  const char *ref = NULL, *platform = NULL, *username = NULL;
  const char *ca[17] = { 0 };
  size_t n_ca = 0;
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "-q") == 0 || strcmp (a, "--quiet") == 0)
        quiet = true;
      else if (strcmp (a, "-f") == 0 || strcmp (a, "--force") == 0)
        ;
      else if (strcmp (a, "--insecure") == 0)
        insecure = true;
      else if (strcmp (a, "--password-stdin") == 0)
        password_stdin = true;
      else if (strcmp (a, "--ca-certs") == 0 && i + 1 < argc)
        {
          if (n_ca == 16)
            return cli_failf (1, "pull: at most 16 --ca-certs");
          ca[n_ca++] = argv[++i];
        }
      else if (strcmp (a, "--platform") == 0 && i + 1 < argc)
        platform = argv[++i];
      else if (strcmp (a, "--username") == 0 && i + 1 < argc)
        username = argv[++i];
      else if (strcmp (a, "--materialize") == 0 && i + 1 < argc)
        {
          const char *m = argv[++i];
          if (strcmp (m, "layered") != 0 && strcmp (m, "flat") != 0 && strcmp (m, "all") != 0)
            return cli_failf (1, "pull: --materialize must be layered, flat or all");
          if (strcmp (m, "layered") != 0)
            return cli_failf (1, "pull: --materialize %s needs the vm backend's disk images, "
                                 "which this build does not make", m);
        }
      else if (strcmp (a, "--help") == 0 || strcmp (a, "-h") == 0)
        return usage (stdout);
      else if (a[0] == '-')
        return cli_unknown_flag ("pull", a, 1);
      else if (ref)
        return usage (stderr);
      else
        ref = a;
    }
  if (ref == NULL)
    return usage (stderr);
  if ((username != NULL) != password_stdin)
    return cli_failf (1, "pull: --username and --password-stdin go together");
  char *password = password_stdin ? cli_read_secret_line () : NULL;
  if (password_stdin && (password == NULL || *password == '\0'))
    return cli_failf (1, "pull: no password on stdin");
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    {
      free (password);
      return 1;
    }
  cli_pull_progress *prog = quiet ? NULL : cli_pull_progress_new (stderr, isatty (STDERR_FILENO), true);
  msb_pull_opts opts = {
    .size = sizeof opts,
    .policy = "always",
    .progress = prog ? cli_pull_progress_event : NULL,
    .progress_data = prog,
    .username = username,
    .password = password,
    .insecure = insecure,
    .ca_files = n_ca ? ca : NULL,
    .platform = platform,
  };
  msb_image_info *info = NULL;
  msb_error *err = NULL;
  int status = 0;
  int r = msb_image_pull (ctx, ref, &opts, &info, &err);
  cli_pull_progress_finish (prog);
  if (password)
    {
      explicit_bzero (password, strlen (password));
      free (password);
    }
  if (r < 0)
    status = cli_fail (err, 1);
  else
    {
      if (quiet)
        puts (msb_image_info_reference (info));
      else
        printf ("%s\nDigest: %s\n", msb_image_info_reference (info),
                msb_image_info_manifest_digest (info));
      msb_image_info_free (info);
    }
  msb_ctx_close (ctx);
  return status;
}

int
cli_pull_for_create (msb_ctx *ctx, const msb_config *cfg)
{
  const char *ref = msb_config_get_image (cfg);
  const char *policy = msb_config_get_pull_policy (cfg);
  msb_image_info *info = NULL;
  bool always = policy && strcmp (policy, "always") == 0;
  if (ref == NULL || (policy && strcmp (policy, "never") == 0)
      || (!always && msb_image_get (ctx, ref, &info, NULL) == 0))
    {
      msb_image_info_free (info);
      return 0; /* cached, or not ours to pull: the create says what is wrong */
    }
  /* With "always" the create resolves the tag once more (a manifest request); the layers
   * are cached by then, and the bars show here where a person can see them. */
  bool tty = isatty (STDERR_FILENO);
  cli_pull_progress *prog = tty ? cli_pull_progress_new (stderr, true, false) : NULL;
  msb_pull_opts opts = { .size = sizeof opts, .policy = always ? "always" : "if-missing",
                         .progress = prog ? cli_pull_progress_event : NULL,
                         .progress_data = prog };
  msb_error *err = NULL;
  int r = msb_image_pull (ctx, ref, &opts, NULL, &err);
  cli_pull_progress_finish (prog);
  if (r < 0)
    {
      cli_fail (err, 0);
      return -1;
    }
  return 0;
}
