package ai.factory.security.tls;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;
import ai.factory.config.TlsConfig;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * The CA of a factory's cluster: it issues each worker that joins a client certificate for its node id, from the
 * worker's own key (a PKCS#10 request: the private key never leaves the worker). Only the cluster trusts it; it is
 * not the site CA that API clients are given, so a worker's certificate opens nothing but the cluster's own
 * endpoints. Created once under {@code $FACTORY_HOME/cluster} (ECDSA P-256, the key 0600 in a 0700 folder).
 */
public final class ClusterCa {
    /** A worker's certificate lives this long; it rejoins (or is issued a new one) before then. */
    public static final Duration CLIENT_VALIDITY = Duration.ofDays(90);
    private static final Duration BACKDATE = Duration.ofHours(1);
    private static final String MATERIAL = "cluster CA";

    private final X509Certificate certificate;
    private final PrivateKey key;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    private ClusterCa(X509Certificate certificate, PrivateKey key, Clock clock) {
        this.certificate = certificate;
        this.key = key;
        this.clock = clock;
    }

    /** A certificate issued to a node, as PEM (the certificate, then the CA's), with its serial and expiry. */
    public record Issued(String pem, X509Certificate certificate) {
        public String serial() {
            return certificate.getSerialNumber().toString(16);
        }

        public Instant expiresAt() {
            return certificate.getNotAfter().toInstant();
        }
    }

    /** The cluster CA in {@code dir}, created there the first time. */
    public static ClusterCa loadOrCreate(Path dir, Clock clock) {
        requireNonNull(dir, "dir is null");
        requireNonNull(clock, "clock is null");
        Path certificateFile = dir.resolve("ca.pem");
        Path keyFile = dir.resolve("ca.key");
        if (!Files.exists(certificateFile) && !Files.exists(keyFile)) {
            GeneratedCertificates.createPrivateDirectory(dir);
            GeneratedCertificates.createCa("cluster CA", certificateFile, keyFile, clock, new SecureRandom());
        }
        X509Certificate ca = Pem.certificates(certificateFile, MATERIAL).getFirst();
        PrivateKey key = Pem.privateKey(keyFile, MATERIAL);
        if (!ServerIdentity.matches(key, ca.getPublicKey())) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, keyFile + " is not the key of the cluster CA in "
                    + certificateFile + "; restore the pair from a backup");
        }
        return new ClusterCa(ca, key, clock);
    }

    /** A node's key pair (EC P-256), made by the worker, which keeps its private half. */
    public static KeyPair newNodeKey() {
        return GeneratedCertificates.newKeyPair(new SecureRandom());
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** The organizational unit of the control plane's own client certificate; no node's certificate carries it. */
    public static final String CONTROL_PLANE_UNIT = "control plane";
    private static final String NODE_UNIT = "cluster node";

    /**
     * Issues node {@code nodeId} a certificate for the public key of {@code requestPem} (a PKCS#10 request signed by
     * that key), for the node's client calls to the cluster endpoint and for the TLS server it serves replicas on,
     * under {@code names} (the address the control plane dials it at, its name); INVALID_REQUEST when the request does
     * not parse or its signature does not verify. The subject is the CA's choice, never the request's: a node
     * cannot name itself the control plane.
     */
    public Issued issue(String nodeId, String requestPem, Set<String> names) {
        PublicKey publicKey = requestedKey(requestPem);
        X509Certificate issued = sign(publicKey, NODE_UNIT, nodeId, names,
                new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_serverAuth});
        try {
            return new Issued(Pem.certificates(List.of(issued, certificate)), issued);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot encode a node certificate: " + e.getMessage(), e);
        }
    }

    /**
     * A client identity for the control plane's calls to workers, issued now with a fresh key that lives in memory
     * only; a worker's serving port takes calls from this unit alone ({@link #isControlPlane}).
     */
    public ServerIdentity controlPlaneIdentity() {
        KeyPair pair = GeneratedCertificates.newKeyPair(random);
        X509Certificate issued = sign(pair.getPublic(), CONTROL_PLANE_UNIT, "control-plane", Set.of(),
                new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth});
        return new ServerIdentity(pair.getPrivate(), List.of(issued, certificate));
    }

    /** Whether {@code certificate} (already checked to chain to this CA) is the control plane's. */
    public static boolean isControlPlane(X509Certificate certificate) {
        RDN[] units = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.OU);
        return units.length == 1 && CONTROL_PLANE_UNIT.equals(IETFUtils.valueToString(units[0].getFirst().getValue()));
    }

    private X509Certificate sign(PublicKey publicKey, String unit, String commonName, Set<String> names,
                                 KeyPurposeId[] purposes) {
        Instant now = clock.instant();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Sovereign AI Factory")
                .addRDN(BCStyle.OU, unit).addRDN(BCStyle.CN, commonName).build();
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate,
                    new BigInteger(1, randomBytes(16)), Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(CLIENT_VALIDITY)), subject, publicKey)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes))
                    .addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(publicKey))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            extensions.createAuthorityKeyIdentifier(certificate));
            if (!names.isEmpty()) {
                builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.stream()
                        .map(n -> TlsConfig.isIpLiteral(n) ? new GeneralName(GeneralName.iPAddress, n)
                                : new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new)));
            }
            return GeneratedCertificates.sign(builder, key);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot issue a cluster certificate: " + e.getMessage(), e);
        }
    }

    /**
     * A server identity for the cluster endpoint, issued now for {@code names} (DNS names and IP addresses) with a
     * fresh key that lives in memory only: workers know the endpoint by the cluster CA alone.
     */
    public ServerIdentity serverIdentity(java.util.Set<String> names) {
        return GeneratedCertificates.serverIdentity(certificate, key, names, clock.instant(), CLIENT_VALIDITY, random);
    }

    private static PublicKey requestedKey(String requestPem) {
        try (PEMParser parser = new PEMParser(new StringReader(requireNonNull(requestPem, "requestPem is null")))) {
            Object read = parser.readObject();
            if (!(read instanceof org.bouncycastle.pkcs.PKCS10CertificationRequest request)) {
                throw FactoryException.invalidParam("csr", "'csr' must be a PEM certificate request "
                        + "(-----BEGIN CERTIFICATE REQUEST-----)");
            }
            JcaPKCS10CertificationRequest jca = new JcaPKCS10CertificationRequest(request);
            PublicKey publicKey = jca.getPublicKey();
            if (!jca.isSignatureValid(new JcaContentVerifierProviderBuilder().build(publicKey))) {
                throw FactoryException.invalidParam("csr", "the certificate request's signature does not verify");
            }
            return publicKey;
        } catch (IOException | GeneralSecurityException | PKCSException
                 | org.bouncycastle.operator.OperatorCreationException | RuntimeException e) {
            if (e instanceof FactoryException f) {
                throw f;
            }
            throw FactoryException.invalidParam("csr", "'csr' is not a certificate request: " + e.getMessage());
        }
    }

    private byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        return bytes;
    }
}
