/*
 * Reelhouse playback edge (njs 0.7.9, loaded by edge.conf with `js_import playback from ...`).
 *
 * Two jobs:
 *  1. gate()           - js_content of `location /play/`: checks the playback token of
 *                        /play/<expires>/<token>/<scope>/<rest> and either answers with a
 *                        problem+json error or internally redirects to the private origin
 *                        location /_playback_origin/<scope>/<rest>.
 *  2. originUri(),
 *     amzDate(),
 *     authorization(), - js_set helpers used by the origin location to build a path-style GET for
 *     payloadHash()      the media bucket, signed with AWS Signature Version 4.
 *     originHeaders()  - js_header_filter: content type from the extension (the origin's is hidden), drops x-amz-* headers.
 *
 * The token rule is the one of libs/platform/src/reelhouse/platform/signing.py:
 *   token = base64url_nopad(HMAC-SHA256(secret, scope + ":" + expires)), expires in unix seconds,
 *   valid while now < expires; scope = (videos|live)/<36 chars of [0-9a-f-]>.
 *
 * Configuration comes from nginx variables declared with js_var in edge.conf:
 *   $pb_signing_secret, $pb_s3_host, $pb_s3_region, $pb_s3_access_key, $pb_s3_secret_key,
 *   $pb_media_bucket.
 *
 * njs 0.7.9 notes: no for...of, so plain loops; crypto digest() without encoding returns a Buffer,
 * which createHmac accepts as a key (used for the SigV4 key chain).
 */

var crypto = require('crypto');

var PLAY_RE = /^\/play\/([0-9]{1,12})\/([A-Za-z0-9_-]{43})\/((?:videos|live)\/[0-9a-f-]{36})\/(.+)$/;
var SEGMENT_RE = /^[A-Za-z0-9._~-]+$/;
var ORIGIN_PREFIX = '/_playback_origin/';
var EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
var SIGNED_HEADERS = 'host;x-amz-content-sha256;x-amz-date';

var CONTENT_TYPES = {
    m3u8: 'application/vnd.apple.mpegurl',
    ts: 'video/mp2t',
    mp4: 'video/mp4',
    m4s: 'video/mp4',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    vtt: 'text/vtt'
};

/* ---------------------------------------------------------------- token gate */

/*
 * Split the raw request URI (as sent by the client: not decoded, not normalised) into its parts.
 * Returns {expires, token, scope, rest} or null when the shape is wrong, including empty, "." or
 * ".." segments and any percent-encoding in rest.
 */
function parsePlayPath(requestUri) {
    var q = requestUri.indexOf('?');
    var path = q === -1 ? requestUri : requestUri.slice(0, q);
    var m = PLAY_RE.exec(path);
    if (!m) {
        return null;
    }
    var segments = m[4].split('/');
    for (var i = 0; i < segments.length; i++) {
        var s = segments[i];
        if (s === '.' || s === '..' || !SEGMENT_RE.test(s)) {
            return null;
        }
    }
    return {expires: m[1], token: m[2], scope: m[3], rest: m[4]};
}

/* Compare two strings without an early exit on the first differing character. */
function safeEqual(a, b) {
    if (a.length !== b.length) {
        return false;
    }
    var diff = 0;
    for (var i = 0; i < a.length; i++) {
        diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
    }
    return diff === 0;
}

function playbackToken(secret, scope, expires) {
    return crypto.createHmac('sha256', secret).update(scope + ':' + expires).digest('base64url');
}

/* Answer with an RFC 9457 problem+json body carrying our error code. */
function problem(r, status, title, code) {
    r.headersOut['Content-Type'] = 'application/problem+json';
    r.headersOut['Cache-Control'] = 'no-store';
    r.headersOut['Access-Control-Allow-Origin'] = '*';
    r.return(status, JSON.stringify({type: 'about:blank', title: title, status: status, code: code}));
}

/*
 * js_content of `location /play/`. Only after the token check passes does the request reach the
 * (internal) origin location, so nothing is cached or fetched for a bad or expired URL.
 */
function gate(r) {
    if (r.method === 'OPTIONS') {
        r.headersOut['Access-Control-Allow-Origin'] = '*';
        r.headersOut['Access-Control-Allow-Methods'] = 'GET, HEAD, OPTIONS';
        r.headersOut['Access-Control-Allow-Headers'] = 'Range';
        r.headersOut['Access-Control-Max-Age'] = '86400';
        r.return(204);
        return;
    }
    if (r.method !== 'GET' && r.method !== 'HEAD') {
        r.headersOut['Allow'] = 'GET, HEAD, OPTIONS';
        problem(r, 405, 'Method Not Allowed', 'METHOD_NOT_ALLOWED');
        return;
    }
    var p = parsePlayPath(r.variables.request_uri);
    if (p === null) {
        problem(r, 404, 'Not Found', 'PLAYBACK_PATH_INVALID');
        return;
    }
    var secret = r.variables.pb_signing_secret;
    if (!secret) {
        r.error('playback: $pb_signing_secret is empty; refusing every playback request');
        problem(r, 500, 'Internal Server Error', 'PLAYBACK_EDGE_MISCONFIGURED');
        return;
    }
    if (!safeEqual(playbackToken(secret, p.scope, p.expires), p.token)) {
        problem(r, 403, 'Forbidden', 'PLAYBACK_SIGNATURE_INVALID');
        return;
    }
    if (Date.now() / 1000 >= Number(p.expires)) {
        problem(r, 403, 'Forbidden', 'PLAYBACK_URL_EXPIRED');
        return;
    }
    r.internalRedirect(ORIGIN_PREFIX + p.scope + '/' + p.rest);
}

/* ---------------------------------------------------------- origin (SigV4) */

/* RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX-encoded. */
function uriEncode(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
        return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    });
}

/* The object key of an origin request: $uri minus the internal prefix ('' when not applicable). */
function objectKey(r) {
    var uri = r.variables.uri;
    return uri.startsWith(ORIGIN_PREFIX) ? uri.slice(ORIGIN_PREFIX.length) : '';
}

/* js_set $pb_origin_uri: path-style URI of the object, "/<bucket>/<key>", already encoded. */
function originUri(r) {
    var parts = objectKey(r).split('/');
    for (var i = 0; i < parts.length; i++) {
        parts[i] = uriEncode(parts[i]);
    }
    return '/' + uriEncode(r.variables.pb_media_bucket) + '/' + parts.join('/');
}

/*
 * js_set $pb_amz_date: ISO 8601 basic UTC timestamp (YYYYMMDD'T'HHMMSS'Z'). Taken from nginx's
 * cached clock ($msec) so that authorization(), which derives its own copy the same way, always
 * agrees with the X-Amz-Date header sent in the same request.
 */
function amzDate(r) {
    var seconds = Math.floor(parseFloat(r.variables.msec));
    return new Date(seconds * 1000).toISOString().replace(/\.[0-9]{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/* js_set $pb_amz_content_sha256: hash of the (empty) GET body, sent as x-amz-content-sha256. */
function payloadHash(r) {
    return EMPTY_SHA256;
}

function hmac(key, data) {
    return crypto.createHmac('sha256', key).update(data).digest();
}

/*
 * js_set $pb_authorization: the SigV4 Authorization header for
 *   GET $pb_origin_uri with headers host, x-amz-content-sha256, x-amz-date (no query string).
 */
function authorization(r) {
    var v = r.variables;
    var date = amzDate(r);
    var day = date.slice(0, 8);
    var credentialScope = day + '/' + v.pb_s3_region + '/s3/aws4_request';
    var canonicalRequest = [
        'GET',
        originUri(r),
        '',
        'host:' + v.pb_s3_host,
        'x-amz-content-sha256:' + EMPTY_SHA256,
        'x-amz-date:' + date,
        '',
        SIGNED_HEADERS,
        EMPTY_SHA256
    ].join('\n');
    var stringToSign = [
        'AWS4-HMAC-SHA256',
        date,
        credentialScope,
        crypto.createHash('sha256').update(canonicalRequest).digest('hex')
    ].join('\n');
    var key = hmac('AWS4' + v.pb_s3_secret_key, day);
    key = hmac(key, v.pb_s3_region);
    key = hmac(key, 's3');
    key = hmac(key, 'aws4_request');
    var signature = crypto.createHmac('sha256', key).update(stringToSign).digest('hex');
    return 'AWS4-HMAC-SHA256 Credential=' + v.pb_s3_access_key + '/' + credentialScope +
        ', SignedHeaders=' + SIGNED_HEADERS + ', Signature=' + signature;
}

/*
 * js_header_filter of the origin location: set the media type from the key's extension (S3 often
 * stores application/octet-stream) and remove every x-amz-* header the bucket sent.
 */
function originHeaders(r) {
    var key = objectKey(r);
    var dot = key.lastIndexOf('.');
    var type = dot === -1 ? undefined : CONTENT_TYPES[key.slice(dot + 1).toLowerCase()];
    if (type && r.status < 300) {
        // The bucket's Content-Type is hidden (edge.conf): the type comes from the extension.
        r.headersOut['Content-Type'] = type;
    }
    var names = [];
    for (var name in r.headersOut) {
        names.push(name);
    }
    for (var i = 0; i < names.length; i++) {
        if (names[i].toLowerCase().startsWith('x-amz-')) {
            delete r.headersOut[names[i]];
        }
    }
}

export default {gate, originUri, amzDate, payloadHash, authorization, originHeaders};
