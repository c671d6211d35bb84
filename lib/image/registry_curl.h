/* libcurl, loaded on first use. The msb binary starts on every command's critical path and
 * linking libcurl costs milliseconds of dynamic loading on each start, for the few commands
 * that talk to a registry; so libcurl.so.4 is dlopen'ed the first time a pull needs it and
 * reached through this table. Only the registry client (registry_http.c) uses it.
 *
 * Thread-safety: msb_curl() may be called from any thread; the table it returns is
 * immutable. curl_global_init runs once, under a pthread_once. */
#ifndef MSB_LIB_IMAGE_REGISTRY_CURL_H
#define MSB_LIB_IMAGE_REGISTRY_CURL_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "common/error.h"

typedef struct msb_curl_api
{
  CURL *(*easy_init) (void);
  CURLcode (*easy_setopt) (CURL *, CURLoption, ...);
  CURLcode (*easy_perform) (CURL *);
  CURLcode (*easy_getinfo) (CURL *, CURLINFO, ...);
  void (*easy_cleanup) (CURL *);
  void (*easy_reset) (CURL *);
  const char *(*easy_strerror) (CURLcode);
  struct curl_slist *(*slist_append) (struct curl_slist *, const char *);
  void (*slist_free_all) (struct curl_slist *);
  CURLSH *(*share_init) (void);
  CURLSHcode (*share_setopt) (CURLSH *, CURLSHoption, ...);
  CURLSHcode (*share_cleanup) (CURLSH *);
  curl_version_info_data *(*version_info) (CURLversion);
} msb_curl_api;

/* The loaded table, or NULL with MSB_ERR_IMAGE_PULL_FAILED saying libcurl is missing.
 * $MSB_LIBCURL names another library file (tests use it to simulate a missing one). */
const msb_curl_api *msb_curl (msb_error **err);

#endif
