/* rpc_error.h: the error codes of talking to trailmapd (see rpc_client.h),
 * here beside the API so the view conversion (view_proto.c) can use them
 * without the client. */
#ifndef TM_RPC_ERROR_H
#define TM_RPC_ERROR_H

enum {
    TM_RPC_EURL = -20,
    TM_RPC_EUNREACHABLE = -21,
    TM_RPC_ESTATUS = -22,
    TM_RPC_EPROTO = -23
};

#endif
