package ai.factory.security.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
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

    /**
     * A TLS context for a client that never speaks TLS because its server's URL is plain http, which a JDK HTTP client
     * needs all the same. Any context from the JDK's own provider costs a command-line start dearly: it works out
     * which cipher suites the JDK can run, initializing the JCE and through it looking for URL handlers in every jar
     * on the class path. This one does nothing until it is used, and then refuses.
     */
    public static SSLContext none() {
        return NoTls.CONTEXT;
    }

    private static final class NoTls extends SSLContextSpi {
        static final SSLContext CONTEXT = new SSLContext(new NoTls(),
                new Provider("FactoryNoTls", "1", "TLS refused: the server's URL is plain http") {}, "none") {};

        private static UnsupportedOperationException refused() {
            return new UnsupportedOperationException("no TLS here: the server's URL is plain http");
        }

        @Override
        protected void engineInit(KeyManager[] keys, TrustManager[] trust, SecureRandom random) {
            throw refused();
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            throw refused();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            throw refused();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            throw refused();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            throw refused();
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            throw refused();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            throw refused();
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
