/* web_assets.h: the web page's files, compiled into trailmapd.
 *
 * The table is generated at build time from web/ by cmake/embed_assets.cmake
 * (each file becomes a byte array), so the binary serves the page with
 * nothing read from disk or fetched at run time. */
#ifndef TM_WEB_ASSETS_H
#define TM_WEB_ASSETS_H

#include <stddef.h>

typedef struct tm_web_asset {
    const char *path;          /* "/app.js" */
    const char *content_type;  /* "text/javascript; charset=utf-8" */
    const unsigned char *data;
    size_t len;
} tm_web_asset;

extern const tm_web_asset tm_web_assets[];
extern const size_t tm_web_nassets;

#endif
