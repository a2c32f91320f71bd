/* render.c: fill a signal's templates and AdditionalData from its events. */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#include "rulesInt.h"
#include "vars.h"

void tm_rendered_clear(tm_rendered *r) {
    free(r->name);
    free(r->service);
    free(r->url);
    free(r->summary);
    json_decref(r->data);
    memset(r, 0, sizeof(*r));
}

int tm_render_signal(const tm_label *l, const tm_event *anchor, tm_event *const *related, size_t nrelated,
                     json_t *history, tm_rendered *out, tm_error *err) {
    memset(out, 0, sizeof(*out));
    json_t *vars = json_object(), *items = json_object();
    int rc = 0;
    if (!vars || !items) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto done;
    }
    json_object_set_new(vars, "awsRegion", json_string(anchor->region ? anchor->region : ""));
    json_object_set_new(vars, "eventNameFull", json_string(anchor->name_full));
    tm_pipectx pc = {anchor, related, nrelated, history, vars, items};
    for (size_t i = 0; i < l->nvars; i++) {
        json_t *list = NULL;
        rc = tm_pipeline_run(l->vars[i].steps, &pc, &list, err);
        if (rc) goto done;
        json_object_set_new(vars, l->vars[i].name, tm_shape_collapse(list, l->vars[i].shape));
        json_object_set_new(items, l->vars[i].name, list);
    }
    if (l->has_data) {
        out->data = json_object();
        if (!out->data) {
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < l->ndata; i++) {
            const tm_datakey *dk = &l->data[i];
            json_t *v;
            if (dk->var == -2) v = json_incref(json_object_get(vars, "awsRegion"));
            else v = tm_shape_collapse(json_object_get(items, l->vars[dk->var].name), dk->shape);
            json_object_set_new(out->data, dk->key, v ? v : json_null());
        }
    }
    out->url = tm_tmpl_render(l->url, vars);
    out->summary = tm_tmpl_render(l->summary, vars);
    if (!out->url || !out->summary) rc = tm_error_set(err, TM_ENOMEM, "out of memory");
done:
    json_decref(vars);
    json_decref(items);
    if (rc) tm_rendered_clear(out);
    return rc;
}
