/* bounded_re.h: POSIX extended regular expressions from rule files, bounded.
 *
 * glibc's regcomp builds its automaton by copying a subexpression once per
 * repetition, so a short pattern can cost gigabytes: "a++++++++++++++++++++"
 * doubles the tree at every "+", and "(a{255}){255}" copies it 65,025
 * times (found by fuzz_lang).  Rule files come from admins, and through
 * ValidateRules from the network, so a pattern is checked before regcomp:
 * its length, no quantifier stacked on another, repetition counts up to
 * TM_REGEX_MAX_REPEAT, and an estimate of the copies regcomp will make. */
#ifndef TM_BOUNDED_RE_H
#define TM_BOUNDED_RE_H

#include <regex.h>
#include <stddef.h>

#define TM_REGEX_MAX_LEN 2048
#define TM_REGEX_MAX_REPEAT 255
#define TM_REGEX_MAX_COST 20000 /* atoms after expanding repetitions */

/* regcomp(re, pattern, flags) once the pattern passed the checks above.
 * Returns 0, or non-zero with the reason in why (why[0..whylen), always
 * terminated; REG_ESPACE when memory ran out); re is then not compiled
 * and must not be freed. */
int tm_regex_compile(regex_t *re, const char *pattern, int flags, char *why, size_t whylen);

#endif
