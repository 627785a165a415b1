/* errors.c — libcurl's result codes as the contract's ErrorKind: the class
 * a client (and the CLI's exit code) acts on; the words stay libcurl's. */
#include "RequestServer.h"

rqs_kind rqs_kind_from_curl(CURLcode code)
{
	switch (code) {
	case CURLE_OK:
		return REQUEST_SERVER_ERROR_KIND_NONE;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return REQUEST_SERVER_ERROR_KIND_DNS;
	case CURLE_COULDNT_CONNECT:
		return REQUEST_SERVER_ERROR_KIND_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return REQUEST_SERVER_ERROR_KIND_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return REQUEST_SERVER_ERROR_KIND_TLS;
	case CURLE_TOO_MANY_REDIRECTS:
		return REQUEST_SERVER_ERROR_KIND_TOO_MANY_REDIRECTS;
	case CURLE_ABORTED_BY_CALLBACK:
		return REQUEST_SERVER_ERROR_KIND_CANCELLED;
	/* Schemes are checked before: what libcurl calls an unsupported
	 * protocol then is a response (HTTP/0.9), a Protocol error. */
	case CURLE_REMOTE_ACCESS_DENIED:
	case CURLE_LOGIN_DENIED:
		return REQUEST_SERVER_ERROR_KIND_NOT_PERMITTED;
	case CURLE_FILE_COULDNT_READ_FILE:
	case CURLE_REMOTE_FILE_NOT_FOUND:
		return REQUEST_SERVER_ERROR_KIND_NOT_FOUND;
	case CURLE_WRITE_ERROR:
		return REQUEST_SERVER_ERROR_KIND_IO;
	default:
		/* Malformed, truncated or undecodable responses, resets. */
		return REQUEST_SERVER_ERROR_KIND_PROTOCOL;
	}
}

const char *rqs_kind_name(rqs_kind kind)
{
	static const char *const names[] = {
		"ok", "DNS", "connect", "TLS", "timeout", "too many redirects", "protocol",
		"cancelled", "not permitted", "not found", "I/O"};
	return kind < HV_ARRAY_SIZE(names) ? names[kind] : "?";
}
