/* `msb registry login HOST | logout HOST | ls`: credentials for private registries, stored
 * under $MSB_HOME/secrets/registries/ (0600). The password comes from stdin
 * (--password-stdin) or a no-echo prompt on a terminal, never from the command line, where
 * other users could read it in the process list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

char *cli_read_secret_line (void); /* cli/pull.c */

static char *
prompt (const char *label, bool echo)
{
  fprintf (stderr, "%s: ", label);
  fflush (stderr);
  struct termios old, quiet;
  bool changed = false;
  if (!echo && tcgetattr (STDIN_FILENO, &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      changed = tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  char *line = cli_read_secret_line ();
  if (changed)
    {
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &old);
      fputc ('\n', stderr);
    }
  return line;
}

static int
login (int argc, char **argv)
{
  const char *host = NULL, *username = NULL;
  bool password_stdin = false, insecure = false, no_verify = false;
  const char *ca[17] = { 0 };
  size_t n_ca = 0;
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if ((strcmp (a, "-u") == 0 || strcmp (a, "--username") == 0) && i + 1 < argc)
        username = argv[++i];
      else if (strcmp (a, "--password-stdin") == 0)
        password_stdin = true;
      else if (strcmp (a, "--insecure") == 0)
        insecure = true;
      else if (strcmp (a, "--no-verify") == 0)
        no_verify = true;
      else if (strcmp (a, "--ca-certs") == 0 && i + 1 < argc && n_ca < 16)
        ca[n_ca++] = argv[++i];
      else if (strcmp (a, "-p") == 0 || strcmp (a, "--password") == 0)
        return cli_failf (1, "registry login: a password on the command line is visible to "
                             "other users; use --password-stdin");
      else if (a[0] != '-' && host == NULL)
        host = a;
      else
        return cli_failf (1, "usage: msb registry login HOST [--username USER] "
                             "[--password-stdin] [--insecure] [--ca-certs FILE] [--no-verify]");
    }
  if (host == NULL)
    return cli_failf (1, "registry login: a registry host is required");
  char *user_buf = NULL, *password = NULL;
  bool tty = isatty (STDIN_FILENO);
  if (username == NULL)
    {
      if (password_stdin || !tty)
        return cli_failf (1, "registry login: --username is required");
      username = user_buf = prompt ("Username", true);
    }
  if (password_stdin)
    password = cli_read_secret_line ();
  else if (tty)
    password = prompt ("Password", false);
  else
    {
      free (user_buf);
      return cli_failf (1, "registry login: pass the password with --password-stdin");
    }
  int status = 0;
  if (username == NULL || *username == '\0' || password == NULL || *password == '\0')
    status = cli_failf (1, "registry login: a user name and a password are required");
  msb_ctx *ctx = status ? NULL : cli_ctx ();
  if (ctx)
    {
      msb_pull_opts opts = { .size = sizeof opts, .insecure = insecure,
                             .ca_files = n_ca ? ca : NULL };
      msb_error *err = NULL;
      if (msb_registry_login (ctx, host, username, password,
                              no_verify ? MSB_REGISTRY_LOGIN_NO_VERIFY : 0, &opts, &err)
          < 0)
        status = cli_fail (err, 1);
      else
        fprintf (stderr, "Login succeeded: %s as %s\n", host, username);
      msb_ctx_close (ctx);
    }
  else if (!status)
    status = 1;
  if (password)
    {
      explicit_bzero (password, strlen (password));
      free (password);
    }
  free (user_buf);
  return status;
}

static int
logout (int argc, char **argv)
{
  if (argc != 2 || argv[1][0] == '-')
    return cli_failf (1, "usage: msb registry logout HOST");
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  msb_error *err = NULL;
  int status = 0;
  if (msb_registry_logout (ctx, argv[1], &err) < 0)
    status = cli_fail (err, 1);
  else
    fprintf (stderr, "Removed the credentials of %s\n", argv[1]);
  msb_ctx_close (ctx);
  return status;
}

static int
list (int argc, char **argv)
{
  bool json = false, quiet = false;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--format") == 0 && i + 1 < argc)
      json = strcmp (argv[++i], "json") == 0;
    else if (strcmp (argv[i], "-q") == 0 || strcmp (argv[i], "--quiet") == 0)
      quiet = true;
    else
      return cli_failf (1, "usage: msb registry ls [--format json] [-q]");
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  char **hosts = NULL, **users = NULL;
  size_t n = 0;
  msb_error *err = NULL;
  if (msb_registry_list (ctx, &hosts, &users, &n, &err) < 0)
    {
      msb_ctx_close (ctx);
      return cli_fail (err, 1);
    }
  json_t *arr = json_array ();
  if (!json && !quiet)
    printf ("%-40s %s\n", "REGISTRY", "USERNAME");
  for (size_t i = 0; i < n; i++)
    if (json)
      json_array_append_new (arr, json_pack ("{s:s, s:s}", "registry", hosts[i], "username",
                                             users[i]));
    else if (quiet)
      puts (hosts[i]);
    else
      printf ("%-40s %s\n", hosts[i], users[i]);
  if (json)
    cli_print_json (arr, false);
  json_decref (arr);
  msb_registry_list_free (hosts, users);
  msb_ctx_close (ctx);
  return 0;
}

int
cli_registry (int argc, char **argv)
{
  if (argc < 2)
    return cli_failf (1, "usage: msb registry login|logout|ls …");
  if (strcmp (argv[1], "login") == 0)
    return login (argc - 1, argv + 1);
  if (strcmp (argv[1], "logout") == 0)
    return logout (argc - 1, argv + 1);
  if (strcmp (argv[1], "ls") == 0 || strcmp (argv[1], "list") == 0)
    return list (argc - 1, argv + 1);
  return cli_failf (1, "registry: unknown command `%s`", argv[1]);
}
