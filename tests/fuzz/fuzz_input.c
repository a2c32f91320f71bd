/* fuzz_input.c: the input decoder (input.h) on arbitrary bytes.
 *
 * tm_input_decode detects the format from the content: {"Records":[...]},
 * lookup-events output {"Events":[{"CloudTrailEvent":"..."}]}, a JSON array,
 * a single record, JSON lines, and any of these gzip'd.  The seeds in
 * tests/fuzz/corpus/fuzz_input/ hold every one of them, so mutations start
 * from each format.
 *
 * Besides the sanitizers, the harness checks what the header promises:
 * every accepted record is an event with its raw text, a name and a time,
 * and the report counts exactly the events appended. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tm_eventvec ev = {0};
    tm_input_report rep = {0};
    tm_error err = {0};
    int rc = tm_input_decode("fuzz.json", data, size, &ev, &rep, &err);
    if (rc != 0 && rc != TM_EPARSE && rc != TM_ENOMEM) abort();
    if (rc != 0 && err.msg[0] == '\0') abort(); /* a failure always says why */
    if (rc == 0 && rep.accepted != ev.n) abort();
    for (size_t i = 0; i < ev.n; i++) {
        const tm_event *e = ev.v[i];
        if (!e->raw || !e->json || !e->source || !e->name || !e->name_full) abort();
        if (strlen(e->raw) > e->raw_len) abort(); /* raw_len covers the text */
    }
    for (size_t i = 0; i < rep.n; i++)
        if (!rep.v[i].reason || !rep.v[i].file) abort();
    /* sorting and de-duplicating the decoded events is part of every reader */
    size_t before = ev.n;
    size_t dups = tm_eventvec_sort_dedupe(&ev);
    if (dups + ev.n != before) abort();
    for (size_t i = 1; i < ev.n; i++)
        if (ev.v[i - 1]->time_ms > ev.v[i]->time_ms) abort();
    tm_eventvec_free(&ev);
    tm_input_report_free(&rep);
    return 0;
}
