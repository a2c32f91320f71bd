/* builtin_lists.c: list built-ins.
 *
 *   "exclude_seen_in_previous"  drop the items an earlier signal already showed
 *   "secrets_search_url"        filter pairs -> the "&search=..." part of a url
 *   "as_array"                  the whole list -> one item, an array
 *   "map_member"                rewrite one member of each object through a table
 *
 * Each takes the items so far (borrowed) and returns a new array in *out. */
#include "builtins.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "value.h"

static int bad_arg(tm_error *err, const char *fn, const char *msg) {
    return tm_error_set(err, TM_EINVAL, "built-in \"%s\": %s", fn, msg);
}

static int oom(tm_error *err) {
    return tm_error_set(err, TM_ENOMEM, "out of memory");
}

/* {"fn": "exclude_seen_in_previous", "label": LABEL, "fields": [F1, F2, ...]}
 *
 * Items: objects such as {"attributeKey": K, "attributeValue": V}.
 *
 * The reference entry is the newest entry of the history (ctx->history,
 * oldest first; entries {"label", "data", ...}) whose "label" is LABEL and
 * whose "data" has every field Fi present and not null.
 *
 * An item is dropped when, for every Fi, item.Fi equals reference.data.Fi
 * under PowerShell's -ceq (loose, case-sensitive; null equals only null).
 * Without a reference entry each Fi is compared with null, so only items
 * whose fields are all null are dropped.  A missing member counts as null.
 *
 * When that drops every item, the items are returned unchanged (the
 * reference keeps a carried-over filter rather than showing none). */
int tm_fn_exclude_seen_in_previous(const json_t *step, json_t *items, const tm_fnctx *ctx,
                                   json_t **out, tm_error *err) {
    static const char fn[] = "exclude_seen_in_previous";
    const json_t *label = json_object_get(step, "label");
    const json_t *fields = json_object_get(step, "fields");
    if (!json_is_string(label)) return bad_arg(err, fn, "\"label\" must name a label");
    if (!json_is_array(fields) || json_array_size(fields) == 0)
        return bad_arg(err, fn, "\"fields\" must be a non-empty list of member names");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) if (!json_is_string(f))
        return bad_arg(err, fn, "\"fields\" must be a non-empty list of member names");

    /* newest matching history entry */
    const json_t *ref = NULL;
    json_t *hist = ctx ? ctx->history : NULL;
    for (size_t h = json_array_size(hist); h-- > 0 && !ref;) {
        json_t *ent = json_array_get(hist, h);
        const char *l = json_string_value(json_object_get(ent, "label"));
        if (!l || strcmp(l, json_string_value(label)) != 0) continue;
        json_t *data = json_object_get(ent, "data");
        int ok = json_is_object(data);
        json_array_foreach(fields, i, f) {
            json_t *v = ok ? json_object_get(data, json_string_value(f)) : NULL;
            if (!v || json_is_null(v)) ok = 0;
        }
        if (ok) ref = data;
    }

    json_t *kept = json_array();
    if (!kept) return oom(err);
    size_t k;
    json_t *item;
    json_array_foreach(items, k, item) {
        int same = 1;
        json_array_foreach(fields, i, f) {
            const char *name = json_string_value(f);
            json_t *mine = json_is_object(item) ? json_object_get(item, name) : NULL;
            json_t *theirs = ref ? json_object_get(ref, name) : NULL;
            json_t *null = json_null();
            if (!tm_value_loose_eq(mine ? mine : null, theirs ? theirs : null, 0)) same = 0;
        }
        if (!same && json_array_append(kept, item)) {
            json_decref(kept);
            return oom(err);
        }
    }
    if (json_array_size(kept) == 0) {
        json_decref(kept);
        kept = json_copy(items);
        if (!kept) return oom(err);
    }
    *out = kept;
    return 0;
}

/* Text of a value, minimally URL-encoded ("" for null).  Caller frees. */
static char *encode_text(const json_t *v) {
    char *t = tm_value_text(v);
    char *e = tm_url_min_encode(t ? t : "", NULL);
    free(t);
    return e;
}

static int culture_qsort(const void *a, const void *b) {
    return tm_culture_cmp(*(char *const *)a, *(char *const *)b);
}

static void free_strs(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Appends s to *buf (size *len), returns 0 or -1. */
static int append(char **buf, size_t *len, const char *s) {
    size_t sl = strlen(s);
    char *nb = realloc(*buf, *len + sl + 1);
    if (!nb) return -1;
    memcpy(nb + *len, s, sl + 1);
    *buf = nb;
    *len += sl;
    return 0;
}

/* {"fn": "secrets_search_url", "keys": {DISPLAY: URLKEY, ...}}
 *
 * Items: objects {"Key": display name, "Value": value or null}, the
 * filters of a Secrets Manager list page.  Each becomes the entry
 * URLKEY + "%3D" + value: URLKEY from "keys" (looked up ignoring ASCII
 * case), or else the Key itself minimally URL-encoded; the value minimally
 * URL-encoded, null as "".  Entries whose first character is A-Z come
 * first, then the others, each group in culture order.  Output: no item
 * when there are no entries, else one string "&search=" + the entries
 * joined by "%26" (the console lists its upper-case keys first). */
int tm_fn_secrets_search_url(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out,
                             tm_error *err) {
    (void)ctx;
    static const char fn[] = "secrets_search_url";
    const json_t *keys = json_object_get(step, "keys");
    if (!json_is_object(keys)) return bad_arg(err, fn, "\"keys\" must map display names to url keys");
    size_t n = json_array_size(items);
    char **upper = calloc(n + 1, sizeof(*upper)), **lower = calloc(n + 1, sizeof(*lower));
    size_t nu = 0, nl = 0;
    char *url = NULL;
    int rc = 0;
    if (!upper || !lower) goto nomem;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        json_t *key = json_object_get(item, "Key");
        char *kt = tm_value_text(key);
        const json_t *mapped = NULL;
        if (kt) {
            const char *dk;
            json_t *dv;
            json_object_foreach((json_t *)keys, dk, dv) if (!mapped && strcasecmp(dk, kt) == 0) mapped = dv;
        }
        char *ke = mapped ? tm_value_text(mapped) : tm_url_min_encode(kt ? kt : "", NULL);
        free(kt);
        char *ve = encode_text(json_object_get(item, "Value"));
        char *entry = NULL;
        if (ke && ve) {
            size_t len = strlen(ke) + 3 + strlen(ve) + 1;
            entry = malloc(len);
            if (entry) {
                strcpy(entry, ke);
                strcat(entry, "%3D");
                strcat(entry, ve);
            }
        }
        free(ke);
        free(ve);
        if (!entry) goto nomem;
        if (entry[0] >= 'A' && entry[0] <= 'Z') upper[nu++] = entry;
        else lower[nl++] = entry;
    }
    json_t *res = json_array();
    if (!res) goto nomem;
    if (nu + nl > 0) {
        qsort(upper, nu, sizeof(*upper), culture_qsort);
        qsort(lower, nl, sizeof(*lower), culture_qsort);
        size_t len = 0;
        if (append(&url, &len, "&search=")) goto nomem_res;
        for (size_t k = 0; k < nu + nl; k++) {
            const char *e = k < nu ? upper[k] : lower[k - nu];
            if ((k && append(&url, &len, "%26")) || append(&url, &len, e)) goto nomem_res;
        }
        if (json_array_append_new(res, json_string(url))) goto nomem_res;
    }
    *out = res;
    goto done;
nomem_res:
    json_decref(res);
nomem:
    rc = oom(err);
done:
    free(url);
    if (upper) free_strs(upper, nu);
    if (lower) free_strs(lower, nl);
    return rc;
}

/* {"fn": "as_array"}
 * The whole list becomes one item: a JSON array of the items.  Under the
 * "pipeline" shape that keeps an array even for 0 or 1 items (the
 * reference's .Where() results, which are always collections). */
int tm_fn_as_array(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out,
                   tm_error *err) {
    (void)step;
    (void)ctx;
    json_t *copy = json_copy(items);
    json_t *res = json_array();
    if (!copy || !res || json_array_append_new(res, copy)) {
        json_decref(res);
        return oom(err);
    }
    *out = res;
    return 0;
}

/* {"fn": "map_member", "member": NAME, "table": {FROM: TO, ...}, "ignore_case": BOOL}
 * Each object item is copied with its member NAME replaced by table[text
 * of the member] when the table has that text (compared ignoring ASCII case
 * when ignore_case is true, as PowerShell's switch does).  Objects without
 * the member, texts not in the table and non-object items pass unchanged. */
int tm_fn_map_member(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out,
                     tm_error *err) {
    (void)ctx;
    static const char fn[] = "map_member";
    const json_t *member = json_object_get(step, "member");
    const json_t *map = json_object_get(step, "table");
    const json_t *ic = json_object_get(step, "ignore_case");
    if (!json_is_string(member)) return bad_arg(err, fn, "\"member\" must name a member");
    if (!json_is_object(map)) return bad_arg(err, fn, "\"table\" must be an object FROM -> TO");
    if (ic && !json_is_boolean(ic)) return bad_arg(err, fn, "\"ignore_case\" must be true or false");
    json_t *res = json_array();
    if (!res) return oom(err);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        json_t *cur = json_is_object(item) ? json_object_get(item, json_string_value(member)) : NULL;
        char *t = cur ? tm_value_text(cur) : NULL;
        json_t *to = NULL;
        if (t) {
            to = json_object_get(map, t);
            if (!to && json_is_true(ic)) {
                const char *k;
                json_t *v;
                json_object_foreach((json_t *)map, k, v) if (!to && strcasecmp(k, t) == 0) to = v;
            }
        }
        free(t);
        json_t *o = to ? json_copy(item) : json_incref(item);
        if (o && to && json_object_set(o, json_string_value(member), to)) {
            json_decref(o);
            o = NULL;
        }
        if (!o || json_array_append_new(res, o)) {
            json_decref(res);
            return oom(err);
        }
    }
    *out = res;
    return 0;
}
