package ai.factory.security.tls;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.config.TlsConfig;
import ai.factory.config.TlsFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS material a factory issues itself when a site turns TLS on without giving a certificate: a site CA, created
 * once (its fingerprint reported that once, so an operator can compare it with what clients are told to trust), and a
 * server certificate the CA issues for the names the server answers to, issued again at a start when it nears its
 * end, its names change, or it is missing or damaged. The CA is never replaced silently: clients trust it.
 *
 * <p>Keys are ECDSA P-256, which every mainstream TLS stack takes; key files are PKCS#8 PEM, mode 0600, in a 0700
 * folder. Certificates carry what strict verifiers (Python's {@code VERIFY_X509_STRICT}, Go) ask for: a critical
 * basic-constraints and key-usage on the CA, subject and authority key identifiers, and on the server certificate
 * its names as subject alternative names and the server-authentication extended key usage.
 */
public final class GeneratedCertificates {
    private static final Logger LOG = LoggerFactory.getLogger(GeneratedCertificates.class);
    /** The site CA lives ten years; clients are handed its certificate once. */
    static final Duration CA_VALIDITY = Duration.ofDays(3650);
    /** The longest validity the strictest clients (Apple's) accept for a server certificate, with a margin. */
    static final Duration SERVER_VALIDITY = Duration.ofDays(397);
    /** A server certificate closer than this to its end is issued again at start. */
    static final Duration RENEW_BEFORE = Duration.ofDays(30);
    private static final Duration BACKDATE = Duration.ofHours(1);
    private static final String ORGANIZATION = "Sovereign AI Factory";
    private static final String MATERIAL = "server.tls (generated)";

    private final TlsFiles files;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public GeneratedCertificates(TlsFiles files, Clock clock) {
        this.files = requireNonNull(files, "files is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * What a start found or made.
     *
     * @param newCaFingerprint the SHA-256 fingerprint of a site CA created by this call; empty when it already existed
     * @param issued whether this call issued the server certificate
     */
    public record Outcome(ServerIdentity identity, Optional<String> newCaFingerprint, boolean issued) {}

    /** Loads the site CA (creating it the first time) and a server certificate for {@code names}. */
    public Outcome loadOrCreate(Set<String> names) {
        Set<String> wanted = normalized(names);
        if (wanted.isEmpty()) {
            throw new IllegalArgumentException("a server certificate needs at least one name");
        }
        createPrivateDirectory(files.dir());
        Optional<String> created = Optional.empty();
        boolean hasCert = Files.exists(files.caCertificate());
        boolean hasKey = Files.exists(files.caKey());
        if (!hasCert && !hasKey) {
            createCa();
            created = Optional.of(ServerIdentity.fingerprint(Pem.certificates(files.caCertificate(), MATERIAL).getFirst()));
        } else if (hasCert != hasKey) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, files.dir() + " holds "
                    + (hasCert ? "ca.pem without ca.key" : "ca.key without ca.pem") + ": restore the missing file from a "
                    + "backup, or remove both to create a new site CA (every client must then be given the new ca.pem)");
        }
        X509Certificate ca = Pem.certificates(files.caCertificate(), MATERIAL).getFirst();
        PrivateKey caKey = Pem.privateKey(files.caKey(), MATERIAL);
        if (!ServerIdentity.matches(caKey, ca.getPublicKey())) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, files.caKey() + " is not the key of the site CA in "
                    + files.caCertificate() + "; restore the pair from a backup");
        }
        Instant now = clock.instant();
        if (ca.getNotAfter().toInstant().isBefore(now)) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "the site CA in " + files.caCertificate() + " expired on "
                    + ca.getNotAfter().toInstant() + "; remove ca.pem and ca.key in " + files.dir()
                    + " to create a new one, and give clients its ca.pem");
        }
        if (ca.getNotAfter().toInstant().isBefore(now.plus(Duration.ofDays(90)))) {
            LOG.warn("the site CA in {} expires on {}; plan a new one (docs/tls.md)", files.caCertificate(),
                    ca.getNotAfter().toInstant());
        }
        Optional<ServerIdentity> current = current(ca, wanted, now);
        if (current.isPresent()) {
            return new Outcome(current.get(), created, false);
        }
        ServerIdentity issued = issueServer(ca, caKey, wanted, now);
        LOG.info("issued the TLS server certificate {} for {}, valid until {}", files.certificate(),
                String.join(", ", wanted), issued.certificate().getNotAfter().toInstant());
        return new Outcome(issued, created, true);
    }

    /** The server certificate on disk, if it is the site CA's, for exactly these names, and not near its end. */
    private Optional<ServerIdentity> current(X509Certificate ca, Set<String> wanted, Instant now) {
        if (!Files.exists(files.certificate()) || !Files.exists(files.key())) {
            return Optional.empty();
        }
        try {
            X509Certificate server = Pem.certificates(files.certificate(), MATERIAL).getFirst();
            PrivateKey key = Pem.privateKey(files.key(), MATERIAL);
            server.verify(ca.getPublicKey());
            boolean fresh = server.getNotAfter().toInstant().isAfter(now.plus(RENEW_BEFORE))
                    && !server.getNotBefore().toInstant().isAfter(now);
            if (fresh && ServerIdentity.matches(key, server.getPublicKey()) && names(server).equals(wanted)) {
                return Optional.of(new ServerIdentity(key, List.of(server, ca)));
            }
            return Optional.empty();
        } catch (FactoryException | GeneralSecurityException e) {
            LOG.warn("the TLS server certificate in {} cannot be used ({}); issuing a new one", files.certificate(),
                    e.getMessage());
            return Optional.empty();
        }
    }

    private void createCa() {
        X509Certificate ca = createCa("site CA", files.caCertificate(), files.caKey(), clock, random);
        LOG.info("created the site CA {}, SHA-256 fingerprint {}", files.caCertificate(), ServerIdentity.fingerprint(ca));
    }

    /**
     * Creates a self-signed CA ({@code Sovereign AI Factory <what> <random tag>}, valid {@link #CA_VALIDITY}) and
     * writes its key and certificate, each 0600; returns the certificate.
     */
    static X509Certificate createCa(String what, Path certificateFile, Path keyFile, Clock clock, SecureRandom random) {
        KeyPair pair = newKeyPair(random);
        Instant now = clock.instant();
        byte[] tag = new byte[4];
        random.nextBytes(tag);
        byte[] serial = new byte[16];
        random.nextBytes(serial);
        X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, ORGANIZATION)
                .addRDN(BCStyle.CN, "Sovereign AI Factory " + what + " " + HexFormat.of().formatHex(tag)).build();
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, new BigInteger(1, serial),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(CA_VALIDITY)), name, pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            extensions.createSubjectKeyIdentifier(pair.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            extensions.createAuthorityKeyIdentifier(pair.getPublic()));
            X509Certificate ca = sign(builder, pair.getPrivate());
            writePrivate(keyFile, Pem.privateKey(pair.getPrivate()));
            writePublic(certificateFile, Pem.certificates(List.of(ca)));
            return ca;
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot create the " + what + ": " + e.getMessage(), e);
        }
    }

    private ServerIdentity issueServer(X509Certificate ca, PrivateKey caKey, Set<String> names, Instant now) {
        ServerIdentity identity = serverIdentity(ca, caKey, names, now, SERVER_VALIDITY, random);
        writePrivate(files.key(), Pem.privateKey(identity.key()));
        writePublic(files.certificate(), Pem.certificates(identity.chain()));
        return identity;
    }

    /**
     * A fresh key and a server certificate for it from {@code ca}: {@code names} as subject alternative names,
     * server authentication, valid {@code validity} from {@code now} (never past the CA's own end). Nothing is written.
     */
    static ServerIdentity serverIdentity(X509Certificate ca, PrivateKey caKey, Set<String> names, Instant now,
                                         Duration validity, SecureRandom random) {
        KeyPair pair = newKeyPair(random);
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, ORGANIZATION)
                .addRDN(BCStyle.CN, names.stream().filter(n -> n.length() <= 64).findFirst().orElse("factory")).build();
        Instant notAfter = now.plus(validity);
        if (notAfter.isAfter(ca.getNotAfter().toInstant())) {
            notAfter = ca.getNotAfter().toInstant();
        }
        byte[] serial = new byte[16];
        random.nextBytes(serial);
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca, new BigInteger(1, serial),
                    Date.from(now.minus(BACKDATE)), Date.from(notAfter), subject, pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                    .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.stream()
                            .map(n -> TlsConfig.isIpLiteral(n) ? new GeneralName(GeneralName.iPAddress, n)
                                    : new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new)))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            extensions.createSubjectKeyIdentifier(pair.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false, extensions.createAuthorityKeyIdentifier(ca));
            return new ServerIdentity(pair.getPrivate(), List.of(sign(builder, caKey), ca));
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot issue a TLS server certificate: " + e.getMessage(), e);
        }
    }

    static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuerKey)
            throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e.getMessage(), e);
        }
    }

    /** The names a certificate carries as subject alternative names, normalized as {@link #normalized} does. */
    static Set<String> names(X509Certificate certificate) {
        Set<String> names = new LinkedHashSet<>();
        try {
            Collection<List<?>> alternatives = certificate.getSubjectAlternativeNames();
            if (alternatives != null) {
                alternatives.forEach(entry -> names.add(String.valueOf(entry.get(1))));
            }
        } catch (CertificateParsingException e) {
            return Set.of();
        }
        return normalized(names);
    }

    /** Names compared as a certificate holds them: DNS names in lower case, IP addresses in one spelling. */
    static Set<String> normalized(Collection<String> names) {
        Set<String> out = new LinkedHashSet<>();
        for (String name : names) {
            out.add(TlsConfig.isIpLiteral(name) ? InetAddress.ofLiteral(name).getHostAddress()
                    : name.toLowerCase(Locale.ROOT));
        }
        return out;
    }

    private KeyPair newKeyPair() {
        return newKeyPair(random);
    }

    /** An EC P-256 key pair. */
    static KeyPair newKeyPair(SecureRandom random) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), random);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot make EC P-256 keys", e);
        }
    }

    private BigInteger serial() {
        return new BigInteger(1, randomBytes(16));
    }

    private byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        return bytes;
    }

    static void createPrivateDirectory(Path dir) {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
    }

    static void writePrivate(Path file, String pem) {
        write(file, pem, "rw-------");
    }

    /**
     * A certificate is public, but it lies in the factory's home, which is its owner's alone (0600 like every file
     * there, so a start does not find it wider and narrow it); clients get a copy of {@code ca.pem}.
     */
    private static void writePublic(Path file, String pem) {
        write(file, pem, "rw-------");
    }

    /** Writes a file with these permissions from its creation on, replacing any earlier one atomically. */
    private static void write(Path file, String content, String permissions) {
        try {
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions)));
            Files.writeString(tmp, content, StandardCharsets.US_ASCII);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
