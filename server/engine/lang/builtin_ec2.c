/* builtin_ec2.c: list and text built-ins first needed by the EC2 rules.
 *
 *   "pairs"          filter-like objects -> distinct {Key, Value} pairs
 *   "ec2_filter_url" {Key, Value} pairs -> the filter fragment of an EC2
 *                    console list page ("visibility=x;instanceType=t2.micro;v=3")
 *   "kv_text"        {Key, Value} pairs -> "k='v', k2=UNDEFINED"
 *   "append_vars"    the items, then the values of earlier vars
 *   "json_text"      each item (or the value at a path in it) -> compact JSON
 *
 * None of them names a label; the argument contracts are in the comment
 * above each function. */
#include "builtins.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

static int oom(tm_error *err) { return tm_error_set(err, TM_ENOMEM, "out of memory"); }

static int bad_arg(tm_error *err, const char *fn, const char *what) {
    return tm_error_set(err, TM_EINVAL, "%s: %s", fn, what);
}

/* Optional string argument; *out stays def when absent. */
static int str_arg(const json_t *step, const char *name, const char *def, const char **out) {
    const json_t *v = json_object_get(step, name);
    *out = def;
    if (!v) return 0;
    if (!json_is_string(v)) return -1;
    *out = json_string_value(v);
    return 0;
}

/* Optional boolean argument. */
static int bool_arg(const json_t *step, const char *name, int def, int *out) {
    const json_t *v = json_object_get(step, name);
    *out = def;
    if (!v) return 0;
    if (!json_is_boolean(v)) return -1;
    *out = json_is_true(v);
    return 0;
}

/* A path argument, parsed; *has is 0 when absent.  TM_EPARSE when
 * malformed, TM_ENOMEM. */
static int path_arg(const json_t *step, const char *name, tm_path *p, int *has) {
    const json_t *v = json_object_get(step, name);
    *has = 0;
    memset(p, 0, sizeof(*p));
    if (!v) return 0;
    if (!json_is_string(v)) return TM_EPARSE;
    int rc = tm_path_parse(json_string_value(v), p);
    if (rc) return rc;
    *has = 1;
    return 0;
}

/* "a-b-c" -> "aBC": the first character kept, every character after a '-'
 * upper-cased, the dashes dropped.  Text without a dash is returned as is.
 * Caller frees. */
static char *camel_from_dashes(const char *s) {
    size_t n = strlen(s);
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    int up = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '-' && i > 0) {
            up = 1;
            continue;
        }
        *o++ = (char)(up ? toupper(c) : c);
        up = 0;
    }
    *o = 0;
    return out;
}

/* ---- pairs -------------------------------------------------------------- */

/* {"fn": "pairs", "key": PATH, "values": PATH, "camel_keys": BOOL,
 *  "names": [KEYNAME, VALUENAME]}
 * Each item is an object such as an EC2 filter {"name": "state",
 * "valueSet": {"items": [{"value": "open"}]}}.  Its key is the value at
 * "key" (default "name"; several values make an array); its values are all
 * values at "values" (default "valueSet.items.value"; arrays are crossed).
 * One object {KEYNAME: key, VALUENAME: value} is made per value, and one
 * with a null value when the item has none.  Objects whose key is empty
 * (null, "", false, 0, []) are dropped, then exact duplicates (the first
 * kept, order kept).  "camel_keys": true then rewrites dash-case string
 * keys to lowerCamel ("instance-state-name" -> "instanceStateName").
 * "names" defaults to ["Key", "Value"]. */
int tm_fn_pairs(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out, tm_error *err) {
    (void)ctx;
    const char *kp, *vp;
    int camel;
    if (str_arg(step, "key", "name", &kp)) return bad_arg(err, "pairs", "\"key\" must be a path");
    if (str_arg(step, "values", "valueSet.items.value", &vp))
        return bad_arg(err, "pairs", "\"values\" must be a path");
    if (bool_arg(step, "camel_keys", 0, &camel)) return bad_arg(err, "pairs", "\"camel_keys\" must be true or false");
    const char *kname = "Key", *vname = "Value";
    const json_t *names = json_object_get(step, "names");
    if (names) {
        if (!json_is_array(names) || json_array_size(names) != 2 || !json_is_string(json_array_get(names, 0)) ||
            !json_is_string(json_array_get(names, 1)))
            return bad_arg(err, "pairs", "\"names\" must be [KEYNAME, VALUENAME]");
        kname = json_string_value(json_array_get(names, 0));
        vname = json_string_value(json_array_get(names, 1));
    }
    tm_path kpath, vpath;
    int prc = tm_path_parse(kp, &kpath);
    if (prc) return prc == TM_ENOMEM ? oom(err) : bad_arg(err, "pairs", "malformed \"key\" path");
    if ((prc = tm_path_parse(vp, &vpath))) {
        tm_path_free(&kpath);
        return prc == TM_ENOMEM ? oom(err) : bad_arg(err, "pairs", "malformed \"values\" path");
    }
    json_t *res = json_array();
    if (!res) goto nomem;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        tm_vals kv = {0}, vv = {0};
        json_t *key = NULL;
        if (tm_path_get(&kpath, it, 1, &kv) || tm_path_get(&vpath, it, 0, &vv)) {
            tm_vals_clear(&kv);
            tm_vals_clear(&vv);
            goto nomem;
        }
        if (kv.n == 1) key = json_incref(kv.v[0]);
        else if (kv.n > 1) {
            key = json_array();
            for (size_t k = 0; key && k < kv.n; k++)
                if (json_array_append(key, kv.v[k])) {
                    json_decref(key);
                    key = NULL;
                }
        }
        size_t nkeys = kv.n;
        tm_vals_clear(&kv);
        if (!key && nkeys) {
            tm_vals_clear(&vv);
            goto nomem;
        }
        if (!key || !tm_value_truthy(key)) {
            json_decref(key);
            tm_vals_clear(&vv);
            continue;
        }
        size_t nv = vv.n ? vv.n : 1;
        for (size_t k = 0; k < nv; k++) {
            json_t *val = vv.n ? vv.v[k] : json_null();
            json_t *obj = json_object();
            if (!obj || json_object_set(obj, kname, key) || json_object_set(obj, vname, val)) {
                json_decref(obj);
                json_decref(key);
                tm_vals_clear(&vv);
                goto nomem;
            }
            int seen = 0;
            size_t m;
            json_t *x;
            json_array_foreach(res, m, x) if (json_equal(x, obj)) seen = 1;
            if (seen) json_decref(obj);
            else if (json_array_append_new(res, obj)) {
                json_decref(key);
                tm_vals_clear(&vv);
                goto nomem;
            }
        }
        json_decref(key);
        tm_vals_clear(&vv);
    }
    if (camel) {
        json_array_foreach(res, i, it) {
            json_t *k = json_object_get(it, kname);
            if (!json_is_string(k)) continue;
            char *c = camel_from_dashes(json_string_value(k));
            if (!c || json_object_set_new(it, kname, json_string(c))) {
                free(c);
                goto nomem;
            }
            free(c);
        }
    }
    tm_path_free(&kpath);
    tm_path_free(&vpath);
    *out = res;
    return 0;
nomem:
    json_decref(res);
    tm_path_free(&kpath);
    tm_path_free(&vpath);
    return oom(err);
}

/* ---- ec2_filter_url ----------------------------------------------------- */

/* A growable string. */
typedef struct buf {
    char *s;
    size_t n, cap;
} buf;

static int buf_add(buf *b, const char *s, size_t len) {
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + len + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) return -1;
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = 0;
    return 0;
}

static int buf_str(buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

/* Starts a new ';'-separated part. */
static int buf_part(buf *b) { return b->n ? buf_add(b, ";", 1) : 0; }

/* Text of a scalar for a URL: null -> "", strings as they are, others as
 * PowerShell prints them.  Caller frees. */
static char *url_text(const json_t *v) {
    if (!v || json_is_null(v)) return strdup("");
    char *t = tm_value_text(v);
    return t ? t : strdup("");
}

/* {"fn": "ec2_filter_url", "visibility": VAR, "version": "3", "camel_keys": BOOL}
 * Items: {Key, Value} pairs (as made by "pairs").  Output: one string, the
 * ';'-joined parts of an EC2 console list-page filter, or nothing when there
 * are no parts:
 *   - "visibility=" + the value of var VAR, first, when that var is a
 *     non-empty string (written as it is);
 *   - per pair: key + "=" + value, both minimally URL-encoded; a value that
 *     then starts and ends with '*' ("contains" syntax) loses both stars and
 *     the operator becomes "=:" ("*us-east*" -> "availabilityZone=:us-east");
 *     a null value gives "key=".  Dash-case keys become lowerCamel unless
 *     "camel_keys" is false;
 *   - "v=" + version, last, when "version" is given and there is a pair. */
int tm_fn_ec2_filter_url(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out,
                         tm_error *err) {
    const char *visvar, *version;
    int camel;
    if (str_arg(step, "visibility", NULL, &visvar))
        return bad_arg(err, "ec2_filter_url", "\"visibility\" must name a var");
    if (str_arg(step, "version", NULL, &version))
        return bad_arg(err, "ec2_filter_url", "\"version\" must be a string");
    if (bool_arg(step, "camel_keys", 1, &camel))
        return bad_arg(err, "ec2_filter_url", "\"camel_keys\" must be true or false");
    buf b = {0};
    if (visvar && ctx && ctx->vars) {
        const json_t *vis = json_object_get(ctx->vars, visvar);
        if (json_is_string(vis) && json_string_length(vis) > 0) {
            if (buf_str(&b, "visibility=") || buf_str(&b, json_string_value(vis))) goto nomem;
        }
    }
    size_t i, npairs = 0;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (!json_is_object(it)) continue;
        const json_t *k = json_object_get(it, "Key");
        const json_t *v = json_object_get(it, "Value");
        char *kt = url_text(k), *vt = url_text(v);
        char *kc = kt && camel ? camel_from_dashes(kt) : NULL;
        char *ke = kt ? tm_url_min_encode(kc ? kc : kt, NULL) : NULL;
        char *ve = vt ? tm_url_min_encode(vt, NULL) : NULL;
        int rc = -1;
        if (ke && ve && (!camel || kc)) {
            size_t vl = strlen(ve);
            int contains = vl >= 1 && ve[0] == '*' && ve[vl - 1] == '*';
            if (!buf_part(&b) && !buf_str(&b, ke) && !buf_str(&b, contains ? "=:" : "=")) {
                if (contains) rc = vl >= 2 ? buf_add(&b, ve + 1, vl - 2) : 0;
                else rc = buf_str(&b, ve);
            }
        }
        free(kt);
        free(vt);
        free(kc);
        free(ke);
        free(ve);
        if (rc) goto nomem;
        npairs++;
    }
    if (version && npairs) {
        if (buf_part(&b) || buf_str(&b, "v=") || buf_str(&b, version)) goto nomem;
    }
    json_t *res = json_array();
    if (!res) goto nomem;
    if (b.n && json_array_append_new(res, json_string(b.s))) {
        json_decref(res);
        goto nomem;
    }
    free(b.s);
    *out = res;
    return 0;
nomem:
    free(b.s);
    return oom(err);
}

/* ---- kv_text ------------------------------------------------------------ */

/* {"fn": "kv_text", "key": "Key", "value": "Value", "sep": ", "}
 * Items: objects.  Output: one string listing each as key='value', or
 * key=UNDEFINED when its value is empty (null, "", false, 0), joined by
 * "sep"; nothing when there are no items.  For summaries. */
int tm_fn_kv_text(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out, tm_error *err) {
    (void)ctx;
    const char *kn, *vn, *sep;
    if (str_arg(step, "key", "Key", &kn) || str_arg(step, "value", "Value", &vn) || str_arg(step, "sep", ", ", &sep))
        return bad_arg(err, "kv_text", "\"key\", \"value\" and \"sep\" must be strings");
    buf b = {0};
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const json_t *k = json_object_get(it, kn);
        const json_t *v = json_object_get(it, vn);
        char *kt = url_text(k);
        char *vt = tm_value_truthy(v) ? url_text(v) : NULL;
        int rc = !kt || (i && buf_str(&b, sep)) || buf_str(&b, kt) ||
                 (vt ? (buf_str(&b, "='") || buf_str(&b, vt) || buf_str(&b, "'")) : buf_str(&b, "=UNDEFINED"));
        free(kt);
        free(vt);
        if (rc) {
            free(b.s);
            return oom(err);
        }
    }
    json_t *res = json_array();
    if (!res || (b.s && json_array_append_new(res, json_string(b.s)))) {
        json_decref(res);
        free(b.s);
        return oom(err);
    }
    free(b.s);
    *out = res;
    return 0;
}

/* ---- append_vars -------------------------------------------------------- */

/* {"fn": "append_vars", "vars": [NAME, ...]}
 * Output: the items, followed by the value of each named earlier var in
 * turn: an array gives its elements, null (or a var not computed) gives
 * nothing, any other value itself.  PowerShell's `[array]$a + $b`. */
int tm_fn_append_vars(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out, tm_error *err) {
    const json_t *names = json_object_get(step, "vars");
    if (!json_is_array(names)) return bad_arg(err, "append_vars", "\"vars\" must be a list of var names");
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) if (!json_is_string(n)) return bad_arg(err, "append_vars", "\"vars\" must be a list of var names");
    json_t *res = json_copy(items);
    if (!res) return oom(err);
    json_array_foreach(names, i, n) {
        json_t *v = ctx && ctx->vars ? json_object_get(ctx->vars, json_string_value(n)) : NULL;
        int rc = 0;
        if (!v || json_is_null(v)) continue;
        if (json_is_array(v)) rc = json_array_extend(res, v);
        else rc = json_array_append(res, v);
        if (rc) {
            json_decref(res);
            return oom(err);
        }
    }
    *out = res;
    return 0;
}

/* ---- json_text ---------------------------------------------------------- */

/* {"fn": "json_text", "path": PATH}
 * Each item -> the compact JSON text (members in input order, no spaces,
 * '/' and non-ASCII unescaped) of the item, or of the value at PATH in it
 * ("null" when missing), as PowerShell's ConvertTo-Json -Compress wrote
 * it; used to test for substrings of request parameters. */
int tm_fn_json_text(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out, tm_error *err) {
    (void)ctx;
    tm_path p;
    int has;
    int prc = path_arg(step, "path", &p, &has);
    if (prc == TM_ENOMEM) return oom(err);
    if (prc) return bad_arg(err, "json_text", "\"path\" must be a path");
    json_t *res = json_array();
    if (!res) {
        tm_path_free(&p);
        return oom(err);
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        json_t *v = it;
        tm_vals vals = {0};
        if (has) {
            if (tm_path_get(&p, it, 1, &vals)) goto nomem;
            v = vals.n ? vals.v[0] : NULL;
        }
        char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) : strdup("null");
        tm_vals_clear(&vals);
        if (!t) goto nomem;
        int rc = json_array_append_new(res, json_string(t));
        free(t);
        if (rc) goto nomem;
    }
    tm_path_free(&p);
    *out = res;
    return 0;
nomem:
    tm_path_free(&p);
    json_decref(res);
    return oom(err);
}
