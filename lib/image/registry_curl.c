/* dlopen of libcurl and its global initialisation, once per process. */
#include "lib/image/registry_curl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define LIBCURL_SONAME "libcurl.so.4"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static msb_curl_api api;
static const msb_curl_api *loaded;
static char load_error[512];

static void *
sym (void *lib, const char *name, bool *ok)
{
  void *p = dlsym (lib, name);
  if (p == NULL && *ok)
    {
      snprintf (load_error, sizeof load_error, "libcurl lacks `%s`", name);
      *ok = false;
    }
  return p;
}

static void
load (void)
{
  const char *file = getenv ("MSB_LIBCURL");
  if (file == NULL || *file == '\0')
    file = LIBCURL_SONAME;
  /* RTLD_LOCAL: curl's symbols stay out of the global namespace of the host program. */
  void *lib = dlopen (file, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL)
    {
      const char *e = dlerror ();
      snprintf (load_error, sizeof load_error, "%s", e ? e : "dlopen failed");
      return;
    }
  bool ok = true;
  CURLcode (*global_init) (long) = (CURLcode (*) (long)) sym (lib, "curl_global_init", &ok);
  api.easy_init = (CURL * (*) (void)) sym (lib, "curl_easy_init", &ok);
  api.easy_setopt = (CURLcode (*) (CURL *, CURLoption, ...)) sym (lib, "curl_easy_setopt", &ok);
  api.easy_perform = (CURLcode (*) (CURL *)) sym (lib, "curl_easy_perform", &ok);
  api.easy_getinfo = (CURLcode (*) (CURL *, CURLINFO, ...)) sym (lib, "curl_easy_getinfo", &ok);
  api.easy_cleanup = (void (*) (CURL *)) sym (lib, "curl_easy_cleanup", &ok);
  api.easy_reset = (void (*) (CURL *)) sym (lib, "curl_easy_reset", &ok);
  api.easy_strerror = (const char *(*) (CURLcode)) sym (lib, "curl_easy_strerror", &ok);
  api.slist_append = (struct curl_slist * (*) (struct curl_slist *, const char *))
      sym (lib, "curl_slist_append", &ok);
  api.slist_free_all = (void (*) (struct curl_slist *)) sym (lib, "curl_slist_free_all", &ok);
  api.share_init = (CURLSH * (*) (void)) sym (lib, "curl_share_init", &ok);
  api.share_setopt = (CURLSHcode (*) (CURLSH *, CURLSHoption, ...)) sym (lib, "curl_share_setopt",
                                                                          &ok);
  api.share_cleanup = (CURLSHcode (*) (CURLSH *)) sym (lib, "curl_share_cleanup", &ok);
  api.version_info = (curl_version_info_data * (*) (CURLversion)) sym (lib, "curl_version_info",
                                                                      &ok);
  if (!ok)
    {
      dlclose (lib);
      return;
    }
  /* Features we rely on: CAINFO_BLOB (7.77), PROTOCOLS_STR (7.85). */
  curl_version_info_data *v = api.version_info (CURLVERSION_NOW);
  if (v == NULL || v->version_num < 0x075500)
    {
      snprintf (load_error, sizeof load_error, "libcurl %s is too old (7.85 or newer is needed)",
                v ? v->version : "?");
      dlclose (lib);
      return;
    }
  CURLcode rc = global_init (CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK)
    {
      snprintf (load_error, sizeof load_error, "curl_global_init: %s", api.easy_strerror (rc));
      dlclose (lib);
      return;
    }
  loaded = &api; /* the library stays loaded for the life of the process */
}

const msb_curl_api *
msb_curl (msb_error **err)
{
  pthread_once (&load_once, load);
  if (loaded == NULL)
    msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
              "pulling images needs libcurl (" LIBCURL_SONAME "), which could not be loaded: %s "
              "(install libcurl4)",
              load_error);
  return loaded;
}
