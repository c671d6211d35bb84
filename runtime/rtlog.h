/* The runtime's own log: lines on stderr, which the runtime points at
 * sandboxes/<name>/logs/runtime.log. Library code never prints; the runtime process does. */
#ifndef MSB_RUNTIME_RTLOG_H
#define MSB_RUNTIME_RTLOG_H

typedef enum msb_rt_level
{
  MSB_RT_ERROR = 0,
  MSB_RT_WARN,
  MSB_RT_INFO,
  MSB_RT_DEBUG,
  MSB_RT_TRACE,
} msb_rt_level;

void msb_rtlog_set_level (const char *name);
void msb_rtlog (msb_rt_level level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#endif
