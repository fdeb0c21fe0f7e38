package ai.factory.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.ServerTest;
import ai.factory.TestModels;
import ai.factory.storage.BlobStore;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker whose models come from an S3 bucket the control plane's blob folder is mirrored to, as
 * {@code SharedBlobSourceTest} runs one with the folder itself. The bucket is S3Proxy's (the S3 API over a folder, in a
 * process of its own, from the build's {@code target/test-tools/}): no S3 service can be reached from here, and MinIO
 * does not install from the registries this build uses. A mirror's objects are written into S3Proxy's folder, as a
 * sync tool would upload them.
 */
@ServerTest
class S3BlobMirrorTest {
    private static final String OWNER = "default";

    @TempDir
    Path dir;

    private static final String S3_ID = "factory-worker";
    private static final String S3_SECRET = "worker-secret-key";

    /** S3Proxy on a free loopback port, serving the buckets under {@code root}; its endpoint URL. */
    private static Process s3;
    private static URI s3Endpoint;

    @TempDir
    static Path s3Root;

    @BeforeAll
    static void startS3() throws Exception {
        Path jar = Path.of("target", "test-tools", "s3proxy.jar").toAbsolutePath();
        assertThat(jar).as("the build copies S3Proxy there (mvn process-test-resources)").exists();
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        s3Endpoint = URI.create("http://127.0.0.1:" + port);
        Path properties = s3Root.resolve("s3proxy.properties");
        Files.writeString(properties, String.join("\n", "s3proxy.endpoint=" + s3Endpoint,
                "s3proxy.authorization=aws-v2-or-v4", "s3proxy.identity=" + S3_ID, "s3proxy.credential=" + S3_SECRET,
                "jclouds.provider=filesystem", "jclouds.filesystem.basedir=" + s3Root.resolve("data")));
        Files.createDirectories(s3Root.resolve("data").resolve("models"));
        s3 = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                jar.toString(), "--properties", properties.toString()).redirectErrorStream(true)
                .redirectOutput(s3Root.resolve("s3proxy.log").toFile()).start();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
    }

    @AfterAll
    static void stopS3() {
        if (s3 != null) {
            s3.destroyForcibly();
            try {
                s3.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static S3BlobMirror bucket(String location, String secret) {
        return S3BlobMirror.fromEnvironment(location, Map.of("AWS_ACCESS_KEY_ID", S3_ID, "AWS_SECRET_ACCESS_KEY",
                secret, "AWS_ENDPOINT_URL_S3", s3Endpoint.toString(), "AWS_REGION", "eu-central-1"));
    }

    @Test
    void aModelMirroredToAnS3BucketIsCopiedFromThereCheckedAndServed() throws Exception {
        SharedBlobSourceTest.ControlPlane control = new SharedBlobSourceTest.ControlPlane(dir);
        Path model = TestModels.tinyLlama();
        BlobStore.StoredBlob blob = control.put(model);
        // Mirrored under a prefix, as `aws s3 sync blobs/ s3://models/site-a/blobs` lays it out.
        Path object = BlobStore.pathIn(s3Root.resolve("data").resolve("models").resolve("site-a").resolve("blobs"),
                OWNER, blob.ref().sha256());
        Files.createDirectories(object.getParent());
        Files.copy(control.store.path(OWNER, blob.ref().sha256()), object);
        S3BlobMirror mirror = bucket("s3://models/site-a/blobs/", S3_SECRET).check();
        try (WorkerReplicas worker = SharedBlobSourceTest.worker(dir.resolve("s1"), new SharedBlobSource(mirror, control))) {
            worker.reconcile(List.of(SharedBlobSourceTest.work("s1", blob, Files.size(model))));
            Assignments.Reported ready = SharedBlobSourceTest.awaitReport(worker, "s1");
            assertThat(ready.phase()).as(ready.detail()).isEqualTo(Assignments.Phase.READY);
            assertThat(control.streamed).as("no blob streamed through the control plane").hasValue(0);
            assertThat(Files.readAllBytes(SharedBlobSourceTest.cached(dir, "s1", blob))).isEqualTo(Files.readAllBytes(object));
        }
        // Not in the bucket (not synced yet): the control plane streams it.
        Files.delete(object);
        try (WorkerReplicas worker = SharedBlobSourceTest.worker(dir.resolve("s2"), new SharedBlobSource(mirror, control))) {
            worker.reconcile(List.of(SharedBlobSourceTest.work("s2", blob, Files.size(model))));
            assertThat(SharedBlobSourceTest.awaitReport(worker, "s2").phase()).isEqualTo(Assignments.Phase.READY);
            assertThat(control.streamed).hasValue(1);
        }
    }

    @Test
    void aBucketThatCannotBeReadIsRefusedBeforeTheWorkerJoinsSayingWhy() {
        assertThatThrownBy(() -> bucket("s3://models", "not-the-secret").check())
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.getMessage()).contains("cannot list s3://models", "answered 403");
                });
        assertThatThrownBy(() -> bucket("s3://no-such-bucket/blobs", S3_SECRET).check())
                .isInstanceOf(FactoryException.class).hasMessageContaining("NoSuchBucket");
        assertThatThrownBy(() -> S3BlobMirror.fromEnvironment("s3://models", Map.of("AWS_REGION", "eu-central-1")))
                .isInstanceOf(FactoryException.class).hasMessageContaining("needs AWS_ACCESS_KEY_ID and "
                        + "AWS_SECRET_ACCESS_KEY");
        for (String bad : List.of("s3://", "s3://UPPER/blobs", "s3://a", "s3://models/../site", "https://models")) {
            assertThatThrownBy(() -> bucket(bad, S3_SECRET)).as(bad).isInstanceOfSatisfying(FactoryException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
        }
        assertThatThrownBy(() -> S3BlobMirror.fromEnvironment("s3://models", Map.of("AWS_ACCESS_KEY_ID", S3_ID,
                "AWS_SECRET_ACCESS_KEY", S3_SECRET, "AWS_ENDPOINT_URL_S3", "ftp://store")))
                .isInstanceOf(FactoryException.class).hasMessageContaining("not an http(s) URL");
    }

}
