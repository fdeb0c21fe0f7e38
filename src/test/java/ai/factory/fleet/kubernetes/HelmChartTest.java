package ai.factory.fleet.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The Helm chart in {@code deploy/helm/factory}, linted and rendered by Helm itself (its library, through helm-java:
 * no helm binary on a build machine). Every rendered object is checked against the Kubernetes API's schema as
 * fabric8's model carries it (its classes are generated from the API's OpenAPI definitions): a known kind, no field the
 * kind does not have, every value of its field's type. Then the objects are created on fabric8's mock API server (no
 * real one runs on a build machine), as {@code helm install} would send them.
 */
class HelmChartTest {
    private static final Path CHART = Path.of("deploy", "helm", "factory");
    private static final KubernetesSerialization KUBERNETES = new KubernetesSerialization();
    /** The fabric8 model, but refusing what it would otherwise keep as "additional properties": unknown fields. */
    private static final ObjectMapper STRICT = strict();

    private static ObjectMapper strict() {
        ObjectMapper mapper = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        mapper.setAnnotationIntrospector(new JacksonAnnotationIntrospector() {
            @Override
            public Boolean hasAnySetter(Annotated a) {
                return false;
            }
        });
        return mapper;
    }

    @Test
    void theChartLintsCleanUnderStrictHelm() {
        LintResult lint = new Helm(CHART).lint().strict().call();
        assertThat(lint.isFailed()).as(String.join("\n", lint.getMessages())).isFalse();
    }

    @Test
    void theDefaultInstallIsTwoControlReplicasWorkersADatabaseAndPoliciesAllValidObjects() throws IOException {
        List<HasMetadata> objects = render(new Helm(CHART).template().withName("acme").withNamespace("ai"));
        Map<String, Long> kinds = objects.stream().collect(Collectors.groupingBy(HasMetadata::getKind,
                Collectors.counting()));
        assertThat(kinds).containsEntry("Deployment", 1L).containsEntry("DaemonSet", 1L)
                .containsEntry("StatefulSet", 1L).containsEntry("Service", 2L).containsEntry("NetworkPolicy", 2L)
                .containsEntry("PersistentVolumeClaim", 1L).containsEntry("PodDisruptionBudget", 1L)
                .containsEntry("ServiceAccount", 1L).doesNotContainKey("ServiceMonitor");
        // The database's password Secret is a pre-install hook (made once, kept across upgrades): template leaves
        // hooks out.

        Deployment control = one(objects, Deployment.class);
        assertThat(control.getSpec().getReplicas()).isEqualTo(2);
        assertThat(control.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable().getIntVal()).isZero();
        Container factory = control.getSpec().getTemplate().getSpec().getContainers().getFirst();
        assertThat(factory.getArgs()).containsExactly("up");
        Map<String, EnvVar> env = factory.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
        assertThat(env.get("FACTORY_CLUSTER_ROLE").getValue()).isEqualTo("control");
        assertThat(env.get("FACTORY_CLUSTER_SITE").getValue()).isEqualTo("/site");
        assertThat(env.get("FACTORY_CLUSTER_ADVERTISE").getValue()).isEqualTo("$(POD_IP)");
        assertThat(env.get("FACTORY_CLUSTER_PLACEMENT").getValue()).isEqualTo("spread");
        assertThat(env.get("FACTORY_DB_URL").getValue()).isEqualTo("jdbc:postgresql://acme-factory-database:5432/factory");
        assertThat(env.get("FACTORY_DB_PASSWORD").getValueFrom().getSecretKeyRef().getName())
                .isEqualTo("acme-factory-database");
        assertThat(env.get("FACTORY_TLS_NAMES").getValue()).contains("acme-factory-control.ai.svc");
        assertThat(env.get("FACTORY_EGRESS_ALLOW").getValue()).as("no egress unless allowed").isEmpty();
        assertThat(factory.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/health/ready");
        assertThat(factory.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        // Every setting the chart passes is one of the factory's own.
        for (String name : env.keySet()) {
            if (name.startsWith("FACTORY_") && !name.equals("FACTORY_HOME")) {
                assertThat(java.util.Arrays.stream(ai.factory.config.Setting.values()).map(
                        ai.factory.config.Setting::env)).as(name).contains(name);
            }
        }

        DaemonSet workers = one(objects, DaemonSet.class);
        PodSpec pod = workers.getSpec().getTemplate().getSpec();
        assertThat(pod.getHostNetwork()).isTrue();
        assertThat(pod.getNodeSelector()).containsEntry("ai.factory/worker", "true");
        Container worker = pod.getContainers().getFirst();
        assertThat(worker.getArgs()).startsWith("worker", "--join", "http://acme-factory-control.ai.svc:8080",
                "--token", "$(JOIN_TOKEN)");
        assertThat(worker.getResources().getLimits()).as("CPU workers ask for no device").isNullOrEmpty();
        assertThat(worker.getArgs()).as("models through the control plane by default").doesNotContain("--shared-blobs");
        assertThat(pod.getVolumes()).as("no site volume on workers by default")
                .noneMatch(v -> v.getPersistentVolumeClaim() != null);
        assertThat(worker.getSecurityContext().getRunAsUser()).isEqualTo(10001L);
        assertThat(pod.getInitContainers()).as("the hostPath folder made the worker's before it starts").singleElement()
                .satisfies(c -> assertThat(String.join(" ", c.getCommand())).contains("chown 10001:10001"));

        Service service = objects.stream().filter(o -> o instanceof Service s
                && s.getMetadata().getName().equals("acme-factory-control")).map(Service.class::cast).findFirst()
                .orElseThrow();
        assertThat(service.getSpec().getPorts()).extracting(p -> p.getPort()).containsExactly(8080, 7443);

        NetworkPolicy policy = objects.stream().filter(o -> o instanceof NetworkPolicy n
                && n.getMetadata().getName().equals("acme-factory-control")).map(NetworkPolicy.class::cast)
                .findFirst().orElseThrow();
        assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Ingress", "Egress");
        assertThat(policy.getSpec().getEgress()).as("DNS, the database, the workers; nothing else")
                .hasSize(3).noneMatch(rule -> rule.getTo() != null && rule.getTo().stream()
                        .anyMatch(peer -> peer.getIpBlock() != null));

        createdOnAnApiServer(objects);
    }

    @Test
    void gpuWorkersAnExternalDatabaseTlsMetricsAndEgressRenderAsAsked() throws IOException {
        List<HasMetadata> objects = render(new Helm(CHART).template().withName("factory").withNamespace("prod")
                .set("controlPlane.replicas", 3)
                .set("controlPlane.placement", "binpack")
                .set("workers.sharedBlobs", true)
                .set("database.bundled", false)
                .set("database.url", "jdbc:postgresql://pg.prod:5432/factory")
                .set("database.existingSecret", "pg-factory")
                .set("workers.accelerator", "nvidia.com/gpu")
                .set("workers.acceleratorsPerNode", 8)
                .set("api.tlsSecret", "factory-tls")
                .set("metrics.serviceMonitor.enabled", true)
                .set("metrics.serviceMonitor.keySecret", "factory-metrics-key")
                .set("egress.allow[0]", "hub.example.com:443")
                .set("egress.allowCidrs[0]", "10.20.0.0/16"));
        assertThat(objects).noneMatch(o -> o.getKind().equals("StatefulSet"));
        assertThat(objects).noneMatch(o -> o.getKind().equals("Secret"));
        Deployment control = one(objects, Deployment.class);
        assertThat(control.getSpec().getReplicas()).isEqualTo(3);
        Container factory = control.getSpec().getTemplate().getSpec().getContainers().getFirst();
        Map<String, String> env = new HashMap<>();
        factory.getEnv().forEach(e -> env.put(e.getName(), e.getValue()));
        assertThat(env).containsEntry("FACTORY_CLUSTER_PLACEMENT", "binpack")
                .containsEntry("FACTORY_DB_URL", "jdbc:postgresql://pg.prod:5432/factory")
                .containsEntry("FACTORY_TLS_ENABLED", "true").containsEntry("FACTORY_EGRESS_ALLOW", "hub.example.com:443");
        assertThat(factory.getReadinessProbe().getHttpGet().getScheme()).isEqualTo("HTTPS");

        Container worker = one(objects, DaemonSet.class).getSpec().getTemplate().getSpec().getContainers().getFirst();
        assertThat(worker.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("8"));
        assertThat(worker.getArgs()).contains("https://factory-control.prod.svc:8080", "--ca-cert");
        // The site volume's blobs/ alone, read-only: never the keys beside them.
        assertThat(worker.getArgs()).containsSubsequence("--shared-blobs", "/shared-blobs");
        assertThat(worker.getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo("/shared-blobs");
            assertThat(m.getSubPath()).isEqualTo("blobs");
            assertThat(m.getReadOnly()).isTrue();
        });
        assertThat(one(objects, DaemonSet.class).getSpec().getTemplate().getSpec().getVolumes())
                .filteredOn(v -> v.getPersistentVolumeClaim() != null).singleElement().satisfies(v -> {
                    assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("factory-site");
                    assertThat(v.getPersistentVolumeClaim().getReadOnly()).isTrue();
                });

        GenericKubernetesResource monitor = objects.stream().filter(o -> o.getKind().equals("ServiceMonitor"))
                .map(GenericKubernetesResource.class::cast).findFirst().orElseThrow();
        assertThat(monitor.getApiVersion()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(new ObjectMapper().convertValue(monitor.getAdditionalProperties().get("spec"), JsonNode.class)
                .at("/endpoints/0/authorization/credentials/name").asText()).isEqualTo("factory-metrics-key");

        NetworkPolicy policy = one(objects, NetworkPolicy.class);
        assertThat(policy.getSpec().getEgress()).anyMatch(rule -> rule.getTo() != null && rule.getTo().stream()
                .anyMatch(peer -> peer.getIpBlock() != null && peer.getIpBlock().getCidr().equals("10.20.0.0/16")));
        createdOnAnApiServer(objects.stream().filter(o -> !(o instanceof GenericKubernetesResource)).toList());
    }

    @Test
    void theMasterKeyComesFromAnHsmOrAKeystoreWhosePasswordIsASecret() throws IOException {
        // An HSM: its module from a volume of the node, its PIN from a Secret, never a value.
        List<HasMetadata> objects = render(new Helm(CHART).template().withName("factory").withNamespace("prod")
                .set("keys.provider", "pkcs11")
                .set("keys.pkcs11.library", "/opt/pkcs11/libvendor-pkcs11.so")
                .set("keys.pkcs11.tokenLabel", "factory")
                .set("keys.pkcs11.pinSecret", "hsm-pin")
                .set("keys.pkcs11.volume.hostPath.path", "/opt/vendor-hsm"));
        PodSpec pod = one(objects, Deployment.class).getSpec().getTemplate().getSpec();
        Container factory = pod.getContainers().getFirst();
        Map<String, EnvVar> env = factory.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
        assertThat(env.get("FACTORY_KEYS_PROVIDER").getValue()).isEqualTo("pkcs11");
        assertThat(env.get("FACTORY_PKCS11_LIBRARY").getValue()).isEqualTo("/opt/pkcs11/libvendor-pkcs11.so");
        assertThat(env.get("FACTORY_PKCS11_TOKEN_LABEL").getValue()).isEqualTo("factory");
        assertThat(env).doesNotContainKeys("FACTORY_PKCS11_SLOT", "FACTORY_KEYSTORE_PASSWORD");
        assertThat(env.get("FACTORY_PKCS11_PIN").getValue()).as("no PIN in the pod spec").isNull();
        assertThat(env.get("FACTORY_PKCS11_PIN").getValueFrom().getSecretKeyRef().getName()).isEqualTo("hsm-pin");
        assertThat(factory.getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo("/opt/pkcs11");
            assertThat(m.getReadOnly()).isTrue();
        });
        assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals("pkcs11")).singleElement()
                .satisfies(v -> assertThat(v.getHostPath().getPath()).isEqualTo("/opt/vendor-hsm"));
        createdOnAnApiServer(objects);

        // A local keystore whose password is a Secret, not a file beside it on the site volume.
        objects = render(new Helm(CHART).template().withName("factory").withNamespace("prod")
                .set("keys.keystorePasswordSecret", "factory-keystore"));
        env = one(objects, Deployment.class).getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv()
                .stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
        assertThat(env.get("FACTORY_KEYS_PROVIDER").getValue()).isEqualTo("local");
        assertThat(env.get("FACTORY_KEYSTORE_PASSWORD").getValueFrom().getSecretKeyRef().getName())
                .isEqualTo("factory-keystore");
        assertThat(env).doesNotContainKeys("FACTORY_PKCS11_LIBRARY", "FACTORY_PKCS11_PIN");

        // An HSM half described is refused, naming what is missing.
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x").set("keys.provider", "pkcs11").call())
                .hasMessageContaining("keys.pkcs11.library");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x").set("keys.provider", "pkcs11")
                .set("keys.pkcs11.library", "/opt/pkcs11/lib.so").set("keys.pkcs11.slot", "0").call())
                .hasMessageContaining("keys.pkcs11.pinSecret");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x").set("keys.provider", "vault").call())
                .hasMessageContaining("provider");
    }

    @Test
    void badValuesAreRefusedByTheChartsSchemaNamingTheValue() {
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x").set("controlPlane.replicas", 0).call())
                .hasMessageContaining("replicas");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x").set("workers.accelerator", "tpu").call())
                .hasMessageContaining("accelerator");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x").set("controlPlane.replica", 2).call())
                .as("a misspelt value").hasMessageContaining("replica");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x").set("database.bundled", false).call())
                .hasMessageContaining("database.url is required");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x")
                .set("controlPlane.extraEnv.JAVA_OPTS", "-Xmx1g").call()).hasMessageContaining("extraEnv");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x")
                .set("metrics.serviceMonitor.enabled", true).call()).hasMessageContaining("keySecret");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x").set("workers.sharedBlobs", true)
                .set("site.accessMode", "ReadWriteOnce").call()).hasMessageContaining("ReadWriteMany");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x").set("workers.sharedBlobs", true)
                .set("site.accessMode", "ReadWriteMany").set("workers.blobBucket.location", "s3://models")
                .set("workers.blobBucket.credentialsSecret", "s3").call()).hasMessageContaining("set one");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x")
                .set("workers.blobBucket.location", "s3://models").call()).hasMessageContaining("credentialsSecret");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("x")
                .set("workers.blobBucket.location", "models").set("workers.blobBucket.credentialsSecret", "s3").call())
                .hasMessageContaining("blobBucket.location");
    }

    @Test
    void workersMayCopyModelsFromAnS3BucketWithKeysFromASecret() throws IOException {
        List<HasMetadata> objects = render(new Helm(CHART).template().withName("factory")
                .set("workers.blobBucket.location", "s3://models/site-a/blobs")
                .set("workers.blobBucket.region", "eu-central-1")
                .set("workers.blobBucket.endpoint", "https://minio.storage:9000")
                .set("workers.blobBucket.credentialsSecret", "model-bucket"));
        Container worker = one(objects, io.fabric8.kubernetes.api.model.apps.DaemonSet.class).getSpec().getTemplate()
                .getSpec().getContainers().getFirst();
        assertThat(String.join(" ", worker.getArgs())).contains("--shared-blobs s3://models/site-a/blobs");
        Map<String, io.fabric8.kubernetes.api.model.EnvVar> env = new HashMap<>();
        worker.getEnv().forEach(e -> env.put(e.getName(), e));
        assertThat(env.get("AWS_REGION").getValue()).isEqualTo("eu-central-1");
        assertThat(env.get("AWS_ENDPOINT_URL_S3").getValue()).isEqualTo("https://minio.storage:9000");
        assertThat(env.get("AWS_SECRET_ACCESS_KEY").getValueFrom().getSecretKeyRef().getName()).isEqualTo("model-bucket");
        assertThat(env.get("AWS_SESSION_TOKEN").getValueFrom().getSecretKeyRef().getOptional()).isTrue();
        assertThat(worker.getVolumeMounts()).noneMatch(m -> m.getMountPath().equals("/shared-blobs"));
    }

    /** The rendered objects, each checked against the API's schema. */
    private static List<HasMetadata> render(com.marcnuri.helm.TemplateCommand template) throws IOException {
        String yaml = template.call();
        List<HasMetadata> out = new ArrayList<>();
        YAMLParser parser = new YAMLFactory().createParser(yaml);
        ObjectMapper reader = new ObjectMapper(new YAMLFactory());
        for (JsonNode document : reader.readValues(parser, JsonNode.class).readAll()) {
            if (document == null || document.isNull() || document.isEmpty()) {
                continue;
            }
            String name = document.path("kind").asText() + " " + document.at("/metadata/name").asText();
            Object typed = KUBERNETES.unmarshal(document.toString());
            HasMetadata object = typed instanceof HasMetadata known ? known
                    : KUBERNETES.convertValue(document, GenericKubernetesResource.class);
            if (!(object instanceof GenericKubernetesResource)) {
                try {
                    STRICT.treeToValue(document, object.getClass());
                } catch (IOException e) {
                    throw new AssertionError(name + " does not match the Kubernetes API's schema: " + e.getMessage(), e);
                }
            } else {
                assertThat(document.path("apiVersion").asText()).as(name + ": the one custom kind the chart makes")
                        .isEqualTo("monitoring.coreos.com/v1");
            }
            assertThat(object.getMetadata().getName()).as(name).matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
            assertThat(object.getMetadata().getLabels()).as(name).containsKey("app.kubernetes.io/instance");
            out.add(object);
        }
        return out;
    }

    private static <T extends HasMetadata> T one(List<HasMetadata> objects, Class<T> kind) {
        List<T> found = objects.stream().filter(kind::isInstance).map(kind::cast).toList();
        assertThat(found).as(kind.getSimpleName()).hasSize(1);
        return found.getFirst();
    }

    /** Creates the objects on fabric8's mock API server (CRUD mode), and reads each back. */
    private static void createdOnAnApiServer(List<HasMetadata> objects) {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        try (NamespacedKubernetesClient client = server.createClient()) {
            for (HasMetadata o : objects) {
                client.resource(o).inNamespace("ai").create();
                assertThat(client.resource(o).inNamespace("ai").get()).as(o.getKind()).isNotNull();
            }
        } finally {
            server.destroy();
        }
    }
}
