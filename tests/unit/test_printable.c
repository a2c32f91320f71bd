/* test_printable.c: what reaches a terminal from events (util/printable.c). */
#include <stdlib.h>
#include <string.h>

#include "printable.h"
#include "test.h"

static void expect(const char *in, const char *want) {
    char *got = tm_printable(in);
    CHECK(got != NULL);
    if (got) CHECK_STR(got, want);
    CHECK_INT(tm_is_printable(in), strcmp(in, want) == 0);
    free(got);
}

int main(void) {
    expect("", "");
    expect("my-bucket", "my-bucket");
    expect("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
    expect("a\x1b[2Jb", "a\\x1b[2Jb");          /* ESC */
    expect("x\ry\nz\t", "x\\x0dy\\x0az\\x09");   /* CR, LF, TAB */
    expect("\x7f", "\\x7f");                    /* DEL */
    expect("\xc2\x9b" "31m", "\\x9b31m");        /* C1 CSI as UTF-8 */
    expect("\x9b", "\\x9b");                    /* a lone byte that is not UTF-8 */
    expect("gpj\xe2\x80\xae.exe", "gpj\\u202e.exe");  /* RIGHT-TO-LEFT OVERRIDE */
    expect("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069"); /* isolates */
    expect("a\xe2\x80\x8b" "b", "a\\u200bb");    /* zero width space */
    expect("\xef\xbb\xbf", "\\ufeff");
    expect("\xe2\x80\xa8", "\\u2028");
    expect("back\\slash", "back\\\\slash");     /* so an escape cannot be forged */
    expect("\xed\xa0\x80", "\\xed\\xa0\\x80");  /* an encoded surrogate */
    expect("\xc0\xaf", "\\xc0\\xaf");           /* overlong */
    expect("\xe2\x82", "\\xe2\\x82");           /* truncated */
    return tm_test_done();
}
