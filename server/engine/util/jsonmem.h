/* jsonmem.h: telling jansson's "out of memory" from bad JSON.
 *
 * jansson reports an allocation that failed while parsing as whatever
 * syntax error it was in the middle of ("invalid token"), or worse, drops
 * the character it could not store and parses on: "searchText" comes back
 * "searhText" and the parse succeeds.  So neither its message nor its
 * success can be trusted when memory ran out.  This routes jansson's
 * allocations through a wrapper that remembers, per thread, whether one
 * failed; a parse during which one did is out of memory, whatever jansson
 * returned. */
#ifndef TM_JSONMEM_H
#define TM_JSONMEM_H

/* Installs the wrapper (once per process; every call after the first is a
 * no-op) and forgets earlier failures of this thread. */
void tm_jsonmem_begin(void);

/* Non-zero when a jansson allocation of this thread failed since
 * tm_jsonmem_begin. */
int tm_jsonmem_failed(void);

#endif
