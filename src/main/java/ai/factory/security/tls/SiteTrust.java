package ai.factory.security.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * What a client of the factory trusts: the JDK's default authorities (so a certificate from the site's own PKI or a
 * public one verifies as before) and, in addition, the CA certificates in given files, such as the site CA a factory
 * generated ({@code $FACTORY_HOME/tls/ca.pem}). Host names are verified as always.
 */
public final class SiteTrust {
    private SiteTrust() {}

    /** A TLS context trusting the JDK's default authorities and every certificate in {@code caFiles}. */
    public static SSLContext context(List<Path> caFiles) {
        try {
            if (caFiles.isEmpty()) {
                return SSLContext.getDefault();
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trustManager(caFiles)}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** The trust manager of {@link #context}, for clients that take one (OkHttp, the AWS SDK). */
    public static X509TrustManager trustManager(List<Path> caFiles) {
        try {
            KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
            anchors.load(null, null);
            int n = 0;
            for (X509Certificate c : defaultTrustManager().getAcceptedIssuers()) {
                anchors.setCertificateEntry("default-" + n++, c);
            }
            for (Path file : caFiles) {
                for (X509Certificate c : read(file)) {
                    anchors.setCertificateEntry("site-" + n++, c);
                }
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(anchors);
            return x509(factory.getTrustManagers());
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot set up TLS trust: " + e.getMessage(), e);
        }
    }

    /** The CA certificates in a PEM (or DER) file. */
    public static List<X509Certificate> read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            Collection<? extends Certificate> certificates = CertificateFactory.getInstance("X.509").generateCertificates(in);
            List<X509Certificate> out = new ArrayList<>();
            certificates.forEach(c -> out.add((X509Certificate) c));
            if (out.isEmpty()) {
                throw new IllegalArgumentException(file + " holds no certificate");
            }
            return out;
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("no CA certificate file " + file, e);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot read CA certificates from " + file + ": " + e.getMessage(), e);
        }
    }

    private static X509TrustManager defaultTrustManager() throws GeneralSecurityException {
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init((KeyStore) null);
        return x509(factory.getTrustManagers());
    }

    private static X509TrustManager x509(TrustManager[] managers) {
        for (TrustManager m : managers) {
            if (m instanceof X509TrustManager x509) {
                return x509;
            }
        }
        throw new IllegalStateException("the JDK offers no X.509 trust manager");
    }
}
