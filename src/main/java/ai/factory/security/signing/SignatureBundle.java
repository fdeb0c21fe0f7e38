package ai.factory.security.signing;

import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A model signature as the OpenSSF model-signing format stores it: a Sigstore bundle (JSON, media type
 * {@code application/vnd.dev.sigstore.bundle.v0.3+json}) with a DSSE envelope whose payload is the in-toto statement,
 * and as verification material either the hint of the signing public key (hex SHA-256 of its PEM) or the signer's
 * certificate (and, in older bundles, its chain), and any transparency-log entries (Rekor's), which date a keyless
 * signature. Read and written with Jackson: the bundle is a small JSON document, and what verifies it is here too.
 *
 * @param statement the DSSE payload: the in-toto statement's bytes
 * @param signature the envelope's one signature
 * @param keyHint hex SHA-256 of the signing key's PEM, for a key signature; null with certificates
 * @param certificates the signer's certificate first, then any chain it carried; empty for a key signature
 * @param tlogEntries the transparency-log entries that record the signature, as the bundle carries them
 */
public record SignatureBundle(String payloadType, byte[] statement, byte[] signature, @Nullable String keyHint,
                              List<X509Certificate> certificates, List<TlogEntry> tlogEntries) {
    /**
     * One entry of a transparency log (Rekor) recording the signature: where, when, the log's promise to include it
     * (its signed entry timestamp) and the entry's body as the log holds it.
     *
     * @param logKeyId the SHA-256 of the log's public key (DER)
     * @param integratedTime seconds since the epoch, when the log took the entry (-1: the entry does not say)
     * @param signedEntryTimestamp the log's signature over the entry (null when the bundle carries none)
     */
    public record TlogEntry(long logIndex, byte[] logKeyId, long integratedTime, byte @Nullable [] signedEntryTimestamp,
                            byte[] canonicalizedBody) {
        public TlogEntry {
            requireNonNull(logKeyId, "logKeyId is null");
            requireNonNull(canonicalizedBody, "canonicalizedBody is null");
        }
    }

    public SignatureBundle(String payloadType, byte[] statement, byte[] signature, @Nullable String keyHint,
                           List<X509Certificate> certificates) {
        this(payloadType, statement, signature, keyHint, certificates, List.of());
    }

    public static final String MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
    public static final String IN_TOTO = "application/vnd.in-toto+json";
    /** The largest bundle read: a model of thousands of files signs in less. */
    public static final int MAX_BYTES = 1 << 20;

    public SignatureBundle {
        requireNonNull(payloadType, "payloadType is null");
        requireNonNull(statement, "statement is null");
        requireNonNull(signature, "signature is null");
        certificates = List.copyOf(certificates);
        tlogEntries = List.copyOf(tlogEntries);
    }

    /**
     * A bundle read from its JSON.
     *
     * @throws SignatureInvalidException when it is not a Sigstore bundle with a DSSE envelope of one signature (a
     *     truncated file, another kind of signature), saying what is missing
     */
    public static SignatureBundle parse(byte[] json) {
        if (json.length > MAX_BYTES) {
            throw new SignatureInvalidException("the signature bundle has " + json.length + " bytes, more than a "
                    + "bundle holds (" + MAX_BYTES + ")");
        }
        JsonNode b;
        try {
            b = Json.mapper().readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // Where, not what: the file named may be anything on the server, and its text is not to be repeated.
            var at = e.getLocation();
            throw new SignatureInvalidException("the signature bundle is not valid JSON (is it whole?)"
                    + (at == null ? "" : ": at line " + at.getLineNr() + ", column " + at.getColumnNr()));
        } catch (java.io.IOException e) {
            throw new SignatureInvalidException("the signature bundle cannot be read");
        }
        if (b == null || !b.isObject()) {
            throw new SignatureInvalidException("the signature bundle is not a JSON object");
        }
        String mediaType = b.path("mediaType").asText();
        if (!mediaType.startsWith("application/vnd.dev.sigstore.bundle")) {
            throw new SignatureInvalidException("not a Sigstore bundle (mediaType '" + mediaType + "')");
        }
        JsonNode envelope = b.path("dsseEnvelope");
        if (!envelope.isObject()) {
            throw new SignatureInvalidException("the bundle has no DSSE envelope (dsseEnvelope): a model signature "
                    + "signs an in-toto statement");
        }
        JsonNode signatures = envelope.path("signatures");
        if (!signatures.isArray() || signatures.size() != 1) {
            throw new SignatureInvalidException("the DSSE envelope carries " + (signatures.isArray()
                    ? signatures.size() : 0) + " signatures; a model signature has one");
        }
        byte[] payload = base64(envelope.path("payload"), "dsseEnvelope.payload");
        byte[] sig = base64(signatures.get(0).path("sig"), "dsseEnvelope.signatures[0].sig");
        JsonNode material = b.path("verificationMaterial");
        List<X509Certificate> certificates = new ArrayList<>();
        if (material.has("certificate")) {
            certificates.add(certificate(material.path("certificate").path("rawBytes")));
        }
        for (JsonNode c : material.path("x509CertificateChain").path("certificates")) {
            certificates.add(certificate(c.path("rawBytes")));
        }
        String hint = material.path("publicKey").path("hint").asText("");
        List<TlogEntry> entries = new ArrayList<>();
        for (JsonNode e : material.path("tlogEntries")) {
            JsonNode promise = e.path("inclusionPromise").path("signedEntryTimestamp");
            // Protobuf's JSON leaves out zeros, and a Rekor v2 entry has no integrated time: -1 where absent.
            entries.add(new TlogEntry(number(e.path("logIndex"), "tlogEntries.logIndex"),
                    base64(e.path("logId").path("keyId"), "tlogEntries.logId.keyId"),
                    number(e.path("integratedTime"), "tlogEntries.integratedTime"),
                    promise.isMissingNode() ? null : base64(promise, "tlogEntries.inclusionPromise"),
                    base64(e.path("canonicalizedBody"), "tlogEntries.canonicalizedBody")));
        }
        return new SignatureBundle(envelope.path("payloadType").asText(), payload, sig, hint.isEmpty() ? null : hint,
                certificates, entries);
    }

    /** An int64 as protobuf's JSON writes it (a string of digits), or as a plain number. */
    private static long number(JsonNode node, String field) {
        if (node.isMissingNode() || node.isNull()) {
            return -1;
        }
        try {
            if (node.isIntegralNumber() || node.isTextual()) {
                return Long.parseLong(node.asText());
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new SignatureInvalidException("the bundle's " + field + " is not a number");
    }

    private static byte[] base64(JsonNode node, String field) {
        if (!node.isTextual() || node.asText().isEmpty()) {
            throw new SignatureInvalidException("the bundle has no " + field);
        }
        try {
            return Base64.getDecoder().decode(node.asText());
        } catch (IllegalArgumentException e) {
            throw new SignatureInvalidException("the bundle's " + field + " is not base64: " + e.getMessage());
        }
    }

    private static X509Certificate certificate(JsonNode rawBytes) {
        byte[] der = base64(rawBytes, "verificationMaterial certificate");
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException e) {
            throw new SignatureInvalidException("the bundle's certificate cannot be read: " + e.getMessage());
        }
    }

    /** The bundle as JSON, as the model-signing tools write it. */
    public byte[] json() {
        ObjectNode b = Json.mapper().createObjectNode();
        b.put("mediaType", MEDIA_TYPE);
        ObjectNode material = b.putObject("verificationMaterial");
        if (certificates.isEmpty()) {
            material.putObject("publicKey").put("hint", keyHint == null ? "" : keyHint);
        } else {
            // As a chain, which the model-signing tools read (a bundle v0.3 may also carry a lone certificate).
            var chain = material.putObject("x509CertificateChain").putArray("certificates");
            try {
                for (X509Certificate c : certificates) {
                    chain.addObject().put("rawBytes", Base64.getEncoder().encodeToString(c.getEncoded()));
                }
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }
        var entries = material.putArray("tlogEntries");
        for (TlogEntry e : tlogEntries) {
            ObjectNode entry = entries.addObject();
            entry.put("logIndex", Long.toString(e.logIndex()));
            entry.putObject("logId").put("keyId", Base64.getEncoder().encodeToString(e.logKeyId()));
            entry.putObject("kindVersion").put("kind", "dsse").put("version", "0.0.1");
            entry.put("integratedTime", Long.toString(e.integratedTime()));
            if (e.signedEntryTimestamp() != null) {
                entry.putObject("inclusionPromise").put("signedEntryTimestamp",
                        Base64.getEncoder().encodeToString(e.signedEntryTimestamp()));
            }
            entry.put("canonicalizedBody", Base64.getEncoder().encodeToString(e.canonicalizedBody()));
        }
        ObjectNode envelope = b.putObject("dsseEnvelope");
        envelope.put("payload", Base64.getEncoder().encodeToString(statement));
        envelope.put("payloadType", payloadType);
        envelope.putArray("signatures").addObject().put("sig", Base64.getEncoder().encodeToString(signature))
                .put("keyid", "");
        try {
            return Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(b);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a bundle is plain JSON", e);
        }
    }

    /**
     * DSSE's pre-authentication encoding, what a DSSE signature covers: {@code DSSEv1 SP len(type) SP type SP
     * len(body) SP body}, lengths in decimal ASCII. Ten lines, written here (the DSSE specification's own).
     */
    static byte[] pae(String payloadType, byte[] body) {
        byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
        byte[] head = ("DSSEv1 " + type.length + " " + payloadType + " " + body.length + " ")
                .getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[head.length + body.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(body, 0, out, head.length, body.length);
        return out;
    }
}
