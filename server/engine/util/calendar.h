/* calendar.h: proleptic Gregorian dates as day numbers (1970-01-01 = 0).
 *
 * One copy of the arithmetic for the event times (event.c) and the rule
 * language's time built-ins (lang/builtin_time.c).  Howard Hinnant's
 * days_from_civil / civil_from_days: exact over the whole int64 range the
 * callers use, no tables, no time zone. */
#ifndef TM_CALENDAR_H
#define TM_CALENDAR_H

#include <stdint.h>

int64_t tm_days_from_civil(int64_t y, int m, int d);
void tm_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int tm_is_leap(int64_t y);
int tm_days_in_month(int64_t y, int m); /* m in 1..12 */

#endif
