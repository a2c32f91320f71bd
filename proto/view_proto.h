/* view_proto.h: trailmapd's protobuf answers as output.h views.
 *
 * Shared by the trailmap client (`trailmap signals`, `trailmap events`) and
 * trailmapd's web endpoints, so that both write the same bytes for the same
 * session: the view is built here once, and output.h renders it.
 *
 * Only the proto -> view direction is here.  The other direction, view ->
 * proto, is still built inside trailmapd's handlers (server/api.c, the
 * Signal and Event answers of GetSession and GetEvents); the web endpoints'
 * JSON (server/http_route.c) and `trailmap sessions --format json`
 * (client/cli_server.c) are view -> JSON shapes, not proto conversions.
 * Moving api.c's builders here was not mechanical (they allocate into the
 * handler's answer); see the JSON-builders step of "One house to live in". */
#ifndef TM_VIEW_PROTO_H
#define TM_VIEW_PROTO_H

#include <stdio.h>

#include "error.h"
#include "output.h"
#include "trailmap.pb-c.h"

/* One proto Signal as a view, every field the proto has.  On failure the
 * view may be partly filled: tm_view_clear frees what was made. */
int tm_view_signal_from_proto(const Trailmap__Signal *p, tm_sigview *s, tm_error *err);

/* A GetSession answer as a view of the session `key` (used when the answer
 * names none).  The unmapped events are not in GetSession: they stay empty.
 * Returns 0, TM_ENOMEM, or TM_RPC_EPROTO when AdditionalData is not JSON;
 * clear the view with tm_view_clear in every case. */
int tm_view_from_session_proto(const Trailmap__GetSessionResponse *r, const char *key, tm_sessview *v,
                               tm_error *err);

/* One event of a GetEvents answer as `trailmap events --format jsonl` writes
 * it: the record as received, with "trailmap":{"session":KEY,"signal":ID or
 * null}, on one line.  Returns 0, TM_ENOMEM or TM_EIO. */
int tm_view_event_jsonl(FILE *f, const char *key, const Trailmap__Event *e);

/* A session of a ListSessions or GetSession answer as JSON: the one
 * builder of `trailmap sessions --format json` and the web page's
 * /api/sessions; with_ms adds firstEventMs and lastEventMs (the page's
 * sorting).  Text a client sent that is not UTF-8 is repaired, not fatal.
 * json null for s NULL; NULL when out of memory. */
json_t *tm_view_session_info_json(const Trailmap__SessionInfo *s, int with_ms);

#endif
