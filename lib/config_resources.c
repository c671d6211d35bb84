/* The resource options of a config that bound later changes rather than the boot itself:
 * the max_cpus / max_memory ceilings of live resize and the transparent huge-page policy
 * (API.md §1.3). Stored with the config (§1.20 `resources`); the namespace backend has no
 * hotplug and no guest kernel, so today they are recorded, validated and reported. */
#include <string.h>

#include "common/error.h"
#include "lib/config.h"

enum
{
  THP_MADVISE = 0,
  THP_ALWAYS,
  THP_NEVER,
};

int
msb_config_set_max_cpus (msb_config *c, unsigned max_cpus, msb_error **err)
{
  if (max_cpus < 1 || max_cpus > 128)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "max_cpus: must be between 1 and 128, got %u",
                     max_cpus);
  if (max_cpus < c->cpus)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "max_cpus: %u is below cpus (%u)", max_cpus,
                     c->cpus);
  c->max_cpus = max_cpus;
  c->max_cpus_set = true;
  return 0;
}

int
msb_config_set_max_memory_mib (msb_config *c, unsigned max_mib, msb_error **err)
{
  if (max_mib > 16u * 1024u * 1024u)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "max_memory: %u MiB is more than 16 TiB",
                     max_mib);
  if (max_mib < c->memory_mib)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "max_memory: %u MiB is below memory (%u MiB)",
                     max_mib, c->memory_mib);
  c->max_memory_mib = max_mib;
  c->max_memory_set = true;
  return 0;
}

int
msb_config_set_thp (msb_config *c, const char *policy, msb_error **err)
{
  if (policy && strcmp (policy, "always") == 0)
    c->thp = THP_ALWAYS;
  else if (policy && strcmp (policy, "never") == 0)
    c->thp = THP_NEVER;
  else if (policy && strcmp (policy, "madvise") == 0)
    c->thp = THP_MADVISE;
  else
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "unknown transparent huge-page policy `%s` (always, madvise or never)",
                     policy ? policy : "(null)");
  return 0;
}

const char *
msb_config_thp_name (uint8_t thp)
{
  return thp == THP_ALWAYS ? "always" : thp == THP_NEVER ? "never" : "madvise";
}
