package ai.factory.app;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.ApiServer;
import ai.factory.api.Authentication;
import ai.factory.api.RequestAudit;
import ai.factory.api.admin.AuditResource;
import ai.factory.api.admin.SelfResource;
import ai.factory.api.admin.SovereigntyResource;
import ai.factory.api.admin.QuotasResource;
import ai.factory.api.admin.UsageResource;
import ai.factory.api.admin.DeploymentsResource;
import ai.factory.api.admin.EncryptionResource;
import ai.factory.api.admin.FleetResource;
import ai.factory.api.admin.KeysResource;
import ai.factory.api.admin.DatasetsResource;
import ai.factory.api.admin.TrainingJobsResource;
import ai.factory.api.admin.ModelsAdminResource;
import ai.factory.api.admin.PoliciesResource;
import ai.factory.api.admin.ProjectsResource;
import ai.factory.api.bedrock.ConverseResource;
import ai.factory.api.bedrock.FoundationModelsResource;
import ai.factory.api.bedrock.InvokeResource;
import ai.factory.api.bedrock.ModelCustomizationResource;
import ai.factory.api.bedrock.ModelImportResource;
import ai.factory.api.openai.ChatCompletionsResource;
import ai.factory.api.openai.CompletionsResource;
import ai.factory.api.openai.EmbeddingsResource;
import ai.factory.api.openai.ModelsResource;
import ai.factory.api.openai.ResponsesResource;
import ai.factory.config.FactoryConfig;
import ai.factory.config.KeysConfig;
import ai.factory.engine.Engine;
import ai.factory.engine.Vocabulary;
import ai.factory.engine.llama.GpuOffload;
import ai.factory.engine.llama.LlamaEngine;
import ai.factory.engine.llama.LlamaEngineOptions;
import ai.factory.engine.llama.LlamaRuntime;
import ai.factory.engine.llama.LlamaVocabulary;
import ai.factory.engine.onnx.BundledMiniLm;
import ai.factory.engine.onnx.OnnxEmbeddingEngine;
import ai.factory.engine.onnx.OnnxEmbeddingOptions;
import ai.factory.inference.InferencePipeline;
import ai.factory.quotas.Chargeback;
import ai.factory.quotas.Quotas;
import ai.factory.quotas.UsageRollups;
import ai.factory.inference.ResponseStore;
import ai.factory.fleet.CommandRunner;
import ai.factory.fleet.Discovery;
import ai.factory.fleet.FleetMetrics;
import ai.factory.fleet.GpuAllocator;
import ai.factory.fleet.HostMemory;
import ai.factory.cluster.JoinTokens;
import ai.factory.cluster.Leadership;
import ai.factory.cluster.Assignments;
import ai.factory.cluster.Nodes;
import ai.factory.cluster.WorkerEngines;
import ai.factory.config.ClusterConfig;
import ai.factory.serving.EngineLoader;
import ai.factory.security.tls.ClusterCa;
import ai.factory.api.admin.NodesResource;
import ai.factory.api.ClusterServer;
import ai.factory.models.Model;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelSignatures;
import ai.factory.config.Setting;
import ai.factory.security.signing.ModelSigning;
import ai.factory.security.signing.SigningKey;
import ai.factory.models.bundle.ModelBundles;
import ai.factory.models.gguf.GgufReader;
import ai.factory.api.admin.BundlesResource;
import ai.factory.security.keys.Pkcs11SigningKey;
import ai.factory.security.tls.Pem;
import ai.factory.config.ModelsConfig;
import ai.factory.config.Pkcs11Settings;
import ai.factory.models.ModelVersion;
import ai.factory.security.ApiKeys;
import ai.factory.security.Authorizer;
import ai.factory.security.MasterKey;
import ai.factory.identity.Principal;
import ai.factory.tenancy.Projects;
import ai.factory.identity.Role;
import ai.factory.security.SigV4Verifier;
import ai.factory.security.SitePolicies;
import ai.factory.security.content.AuditContent;
import ai.factory.security.audit.AuditEvent;
import ai.factory.security.audit.AuditStartCheck;
import ai.factory.security.audit.AuditVerification;
import ai.factory.security.audit.CallJournal;
import ai.factory.security.audit.HomeAnchor;
import ai.factory.security.audit.AuditKey;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.security.keys.MasterKeys;
import ai.factory.security.audit.AuditLog;
import ai.factory.security.audit.AuditStore;
import ai.factory.security.audit.AuditVerifier;
import ai.factory.security.content.ContentRetention;
import ai.factory.security.tls.ServerTls;
import ai.factory.storage.Sql;
import ai.factory.sovereignty.Egress;
import ai.factory.security.oidc.OidcIssuer;
import ai.factory.security.oidc.OidcSignIn;
import ai.factory.api.SignInResource;
import ai.factory.security.oidc.OidcTokens;
import ai.factory.sovereignty.KeyProvider;
import ai.factory.sovereignty.SovereigntyReport;
import ai.factory.serving.BuiltinModels;
import ai.factory.serving.Deployment;
import ai.factory.serving.DeploymentState;
import ai.factory.serving.DeploymentSpec;
import ai.factory.serving.Deployments;
import ai.factory.serving.GpuPlacements;
import ai.factory.serving.MemoryPlanner;
import ai.factory.serving.ModelImports;
import ai.factory.serving.ReplicaPlacement;
import ai.factory.storage.BlobOwner;
import ai.factory.storage.BlobStore;
import ai.factory.storage.BlobSweep;
import ai.factory.training.DatasetLimits;
import ai.factory.training.Datasets;
import ai.factory.training.ModelCustomizations;
import ai.factory.training.SiteFiles;
import ai.factory.training.TrainingJobs;
import ai.factory.storage.MemoryFile;
import ai.factory.storage.Database;
import ai.factory.storage.FactoryHome;
import ai.factory.storage.H2Password;
import ai.factory.storage.HomeLock;
import ai.factory.storage.PrivateFiles;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Wiring: builds every component from a {@link FactoryConfig} and starts serving. The only place where
 * objects are assembled; reading it tells what exists and who talks to whom.
 */
public final class Factory implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Factory.class);
    /** The factory itself, for what it does on its own behalf (registering bundled models). */
    private static final Principal SYSTEM = new Principal("system", "factory", Principal.DEFAULT_PROJECT, Role.ADMIN);
    /** How long a worker may take from being assigned a replica to serving it (fetching and loading the model). */
    private static final java.time.Duration WORKER_LOAD_TIMEOUT = java.time.Duration.ofMinutes(15);
    /** The audit action recording a start on a chain that did not verify. */
    public static final String ACCEPT_BROKEN_AUDIT = "audit.acceptBroken";
    /** The audit action of the start-up repair of the blob store. */
    public static final String STORE_SWEEP = "storage.sweep";
    /** The audit action of a model signature's verification, at import or at load, passed or failed. */
    public static final String VERIFY_MODEL_SIGNATURE = "model.verifySignature";

    private final FactoryConfig config;
    private final List<AutoCloseable> closeInOrder = new ArrayList<>();
    private final ApiServer server;
    private final Optional<String> newAdminKey;
    private final Optional<ServerTls.Prepared> tls;
    private final Egress egress;
    private final Database database;
    private final Datasets datasets;
    private final TrainingJobs trainingJobs;
    private final HostMemory hostMemory;
    private final Leadership leadership;
    private final Quotas quotas;
    private volatile @Nullable ClusterServer clusterServer;
    private final Supplier<LlamaRuntime> llama = llamaRuntime();
    /** Held from before anything in the home is touched until after {@code server.json} is removed. */
    private final HomeLock homeLock;
    private boolean closed; // guarded by this

    private Factory(FactoryConfig config, Clock clock, CommandRunner commands, boolean acceptBrokenAudit,
                    Runnable leadershipLost) {
        this.config = requireNonNull(config, "config is null");
        // Before everything else: a second start on a home in use must leave the running factory's files alone.
        this.homeLock = HomeLock.acquire(config.home(), config.serverFile());
        // Control-plane replicas sharing a site folder start one at a time: the first makes the site's keys and CAs.
        AutoCloseable siteLock = config.cluster().site().map(HomeLock::site).orElse(() -> { });
        try {
            FactoryHome.secure(config.home());
            // First, so a TLS setting that cannot work fails the start before anything else is opened.
            this.tls = ServerTls.prepare(config.server(), config.tlsFiles(), clock);
            this.database = Database.open(H2Password.secure(config.database(), config.databasePasswordFile()));
            closeInOrder.addFirst(database);
            try {
                LOG.info("GGUF engine: llama.cpp from {}", llama.get().libraryDir());
            } catch (FactoryException e) {
                LOG.warn("{}", e.getMessage());
            }
            PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            AuditKey auditKey = AuditKey.loadOrCreate(config.auditKeyFile(), config.auditPublicKeyFile());
            AuditStore auditStore = new AuditStore(database.jdbi());
            HomeAnchor homeAnchor = new HomeAnchor(config.auditAnchorFile(), config.database());
            AuditVerifier auditVerifier = new AuditVerifier(auditStore, auditKey.publicKey(), config.audit(),
                    () -> homeAnchor.read().map(List::of).orElse(List.of()));
            AuditStartCheck auditAtStart = checkAuditChain(auditVerifier, acceptBrokenAudit, clock);
            CallJournal journal = new CallJournal(database.jdbi(), node(config));
            closeInOrder.addFirst(journal);
            // Embedded H2 admits one process, so a writer that stops cleanly on it has the last word until the next.
            AuditLog audit = new AuditLog(auditStore, auditKey, config.audit(), clock, metrics,
                    new AuditLog.Options(database.vendor().equals("h2"), Optional.of(homeAnchor), written -> {}));
            closeInOrder.addFirst(audit);
            if (auditAtStart.accepted()) {
                AuditVerification.Problem p = auditAtStart.result().problem().orElseThrow();
                audit.record(new AuditEvent(clock.instant(), SYSTEM.id(), SYSTEM.name(), "", ACCEPT_BROKEN_AUDIT,
                        "seq=" + p.seq(), AuditEvent.ALLOW, AuditEvent.SUCCESS, 0, "factory", "", 0, 0, 0, 0,
                        "started with --accept-broken-audit on a chain broken at record " + p.seq() + " ("
                                + p.kind().name().toLowerCase(java.util.Locale.ROOT) + "): " + p.message()));
            }
            List<AuditEvent> interrupted = journal.leftovers();
            interrupted.forEach(audit::record);
            if (!interrupted.isEmpty()) {
                LOG.warn("audit: {} call(s) were cut off when the factory last stopped; they are recorded with outcome "
                        + "interrupted", interrupted.size());
            }
            journal.start();
            this.egress = new Egress(config.egress(), audit, clock);
            MasterKeys masterKeys = masterKeys(config);
            KeyHierarchy keyHierarchy = new KeyHierarchy(database.jdbi(), masterKeys, audit::record, clock);
            keyHierarchy.ensureKek(BlobOwner.SITE);
            keyHierarchy.finishInterruptedRotation(SYSTEM);
            BlobStore blobs = new BlobStore(config.blobDir());
            ApiKeys keys = new ApiKeys(database.jdbi(), clock, keyHierarchy, database.readCacheMaxAge());
            resealLegacySecrets(keys);
            Optional<OidcIssuer> oidcIssuer = config.oidc().map(oidc -> new OidcIssuer(oidc.issuer(),
                    this::oidcRequest, clock));
            Optional<OidcTokens> oidcTokens = config.oidc().map(oidc -> new OidcTokens(oidc, oidcIssuer.orElseThrow(),
                    clock));
            Optional<OidcSignIn> signIn = config.oidc().filter(oidc -> oidc.clientId().isPresent())
                    .map(oidc -> new OidcSignIn(oidc, oidcIssuer.orElseThrow(), oidcTokens.orElseThrow(),
                            database.jdbi(), audit::record, clock));
            Authentication authentication = new Authentication(keys, new SigV4Verifier(keys, clock), oidcTokens,
                    signIn);
            Authorizer authorizer = Authorizer.withBuiltInPolicies();
            SitePolicies sitePolicies = new SitePolicies(database.jdbi(), clock, authorizer);
            sitePolicies.load();
            java.util.Map<String, ModelSigning.Trust> signersByClassification = new java.util.HashMap<>();
            config.models().trustedSignersByClassification().forEach((c, files) -> signersByClassification.put(c,
                    ModelSigning.Trust.load(files, Setting.TRUSTED_SIGNERS_BY_CLASSIFICATION.key())));
            ModelSignatures signatures = new ModelSignatures(database.jdbi(), config.models().signaturePolicy(),
                    config.models().signaturePolicyByClassification(), signersByClassification,
                    ModelSigning.Trust.load(config.models().trustedSigners(),
                            Setting.TRUSTED_SIGNERS.key() + " (" + Setting.TRUSTED_SIGNERS.env() + ")")
                            .withIdentities(config.models().trustedIdentities())
                            .withTransparencyLogs(transparencyLogKeys(config)), clock,
                    (model, when, passed, refused, detail, by) -> {
                        Principal who = by == null ? SYSTEM : by;
                        audit.record(new AuditEvent(clock.instant(), who.id(), who.name(), who.project(),
                                VERIFY_MODEL_SIGNATURE, "model=" + model, refused ? AuditEvent.DENY : AuditEvent.ALLOW,
                                passed ? AuditEvent.SUCCESS : AuditEvent.FAILURE, 0, "factory", "", 0, 0, 0, 0,
                                "at " + when + ": " + detail));
                    }, siteSigningKey(config).orElse(null));
            ModelRegistry registry = new ModelRegistry(database.jdbi(), blobs, keyHierarchy, clock,
                    config.models().maxUploadBytes(), database.readCacheMaxAge(), signatures);
            registry.encryptLegacyBlobs();
            AuditContent auditContent = new AuditContent(database.jdbi(), blobs, keyHierarchy);
            this.datasets = new Datasets(database.jdbi(), blobs, keyHierarchy, clock, DatasetLimits.DEFAULTS);
            this.hostMemory = HostMemory.forThisMachine(config.engines().memoryLimit());
            this.trainingJobs = new TrainingJobs(database.jdbi(), registry, datasets, blobs, keyHierarchy, llama,
                    config.engines().effectiveTrainingThreads(), config.engines().trainingNiceness(), audit::record,
                    hostMemory, metrics, clock);
            sweepBlobs(blobs, keyHierarchy, registry, auditContent, datasets, trainingJobs, audit, clock);
            Access access = new Access(authorizer, registry);
            Discovery discovery = Discovery.forThisMachine(clock, commands);
            GpuAllocator gpus = new GpuAllocator(discovery.inventory().accelerators());
            if (gpus.gpus().isEmpty()) {
                LOG.info("GPUs for deployments: none (deployments run on the CPU)");
            } else {
                LOG.info("GPUs for deployments: {} {} GPU(s), {} MiB each", gpus.gpus().size(), gpus.kind(),
                        gpus.capacityPerGpu() >> 20);
            }
            JoinTokens joinTokens = new JoinTokens(database.jdbi(), clock);
            Path clusterDir = config.site().resolve("cluster");
            Supplier<ClusterCa> clusterCa = new Supplier<>() {
                private @Nullable ClusterCa ca; // made at the first join: a factory that never takes workers has none

                @Override
                public synchronized ClusterCa get() {
                    if (ca == null) {
                        ca = ClusterCa.loadOrCreate(clusterDir, clock);
                    }
                    return ca;
                }
            };
            Nodes nodes = new Nodes(database.jdbi(), joinTokens, clusterCa, audit::record, clock);
            if (config.cluster().port().isPresent() && Sql.isH2(database.jdbi())) {
                throw new FactoryException(ErrorCode.INVALID_REQUEST, "cluster.port is set, but the metadata database "
                        + "is the embedded H2, which one process opens: a factory with workers needs PostgreSQL "
                        + "(database.url); see docs/cluster.md");
            }
            boolean control = config.cluster().role() == ClusterConfig.Role.CONTROL;
            // Control-plane replicas share one PostgreSQL and elect one to do the singleton work; any other factory is
            // the only process on its database and leads from the start.
            this.leadership = control ? Leadership.on(database.jdbi(), clock)
                    : Leadership.sole(database.jdbi(), clock);
            closeInOrder.addFirst(leadership);
            Duration liveWithin = config.cluster().heartbeatDeadline();
            this.quotas = new Quotas(database.jdbi(), clock, config.quotas().timeZone(),
                    control ? () -> leadership.liveReplicas(liveWithin).size() : () -> 1);
            quotas.start();
            closeInOrder.addFirst(quotas);
            UsageRollups usage = new UsageRollups(database.jdbi(), auditStore, config.quotas().timeZone(), clock);
            closeInOrder.addFirst(usage);
            Chargeback chargeback = new Chargeback(database.jdbi(), usage, clock);
            Assignments assignments = new Assignments(database.jdbi(), nodes, leadership,
                    config.cluster().heartbeatDeadline(), config.cluster().placement(), quotas::accelerators,
                    audit::record, clock);
            EngineLoader local = (replica, version, spec, placement) -> loadEngine(registry, version, spec, placement);
            if (control) {
                LOG.info("role control: text models' replicas run on the workers that joined");
            }
            WorkerEngines workerEngines = control ? new WorkerEngines(assignments, registry, local,
                    clusterCa.get().controlPlaneIdentity(), clusterCa.get().certificate(), WORKER_LOAD_TIMEOUT,
                    version -> loadVocabulary(registry, version)) : null;
            if (workerEngines != null) {
                closeInOrder.addFirst(workerEngines);
            }
            Deployments deployments = new Deployments(database.jdbi(), registry, workerEngines != null
                    ? workerEngines : local,
                    control ? new MemoryPlanner(() -> Long.MAX_VALUE) : new MemoryPlanner(hostMemory),
                    control ? GpuPlacements.onWorkers()
                            : new GpuPlacements(gpus, () -> offload().supported()), quotas::accelerators, clock);
            closeInOrder.addFirst(deployments);
            if (workerEngines != null) {
                // Closed before the deployments: a control plane that stops leaves its replicas running on the workers.
                closeInOrder.addFirst(workerEngines::stopping);
            }
            deployments.restore();
            if (workerEngines != null) {
                workerEngines.retainDeployments(deployments.list().stream().collect(java.util.stream.Collectors.toMap(
                        Deployment::id, d -> d.spec().replicas())));
                // Deployments made or deleted through another control-plane replica are taken up here within a second.
                // The leader also ends assignments of deployments no longer recorded (deleted through a replica that
                // died before the leader heard of it).
                deployments.follow(Duration.ofSeconds(1), workerEngines::retainDeployments);
            }
            // Crypto-shredding: a deleted project's KEK and data keys are destroyed, then whatever files remain. Its
            // datasets' rows go first, so no row is ever left naming a destroyed key.
            Projects projects = new Projects(database.jdbi(), clock, keys, deployments, registry, List.of(
                    (project, by) -> trainingJobs.projectDeleted(project),
                    (project, by) -> datasets.projectDeleted(project),
                    (project, by) -> quotas.deleteProject(project),
                    (project, by) -> {
                        keyHierarchy.destroy(project, by);
                        blobs.deleteOwner(project);
                        auditContent.projectDeleted(project);
                    }), database.readCacheMaxAge());
            Optional<ContentRetention> retention = config.audit().contentRetention()
                    .map(r -> new ContentRetention(auditContent, r, audit::record, clock));
            retention.ifPresent(closeInOrder::addFirst);
            if (config.models().builtin()) {
                new BuiltinModels(registry, deployments, SYSTEM).ensureEmbeddingModel();
            }
            ModelImports imports = new ModelImports(database.jdbi(), registry, deployments,
                    config.models().importRoot(), clock, leadership.id());
            // Before the worker starts, so no job ends unseen by it.
            ModelCustomizations customizations = new ModelCustomizations(database.jdbi(), trainingJobs, datasets,
                    registry, new SiteFiles(config.models().importRoot()));
            closeInOrder.addFirst(trainingJobs);
            // The singleton work starts on the replica that leads, once: the fine-tuning queue, content retention; and
            // imports whose replica is gone are marked failed at each election. A replica that stops leading while it
            // runs (rare: its lock's connection broke) cannot take back what it started: Options.leadershipLost says
            // what then (factory up stops, to start again as a follower); its assignment writes are fenced meanwhile.
            leadership.listen(new Leadership.Listener() {
                private boolean started;

                @Override
                public synchronized void elected(long term) {
                    imports.restore(leadership.liveReplicas(config.cluster().heartbeatDeadline()));
                    if (started) {
                        return;
                    }
                    started = true;
                    trainingJobs.start();
                    usage.start(() -> replicaUse(deployments));
                    retention.ifPresent(ContentRetention::start);
                }

                @Override
                public void deposed(long term) {
                    if (started) {
                        leadershipLost.run();
                    }
                }
            });
            this.newAdminKey = bootstrapAdminKey(keys);

            InferencePipeline inference = new InferencePipeline(authorizer, registry, deployments, quotas,
                    config.server().generationTimeout(), clock.withZone(ZoneId.systemDefault()));
            new JvmMemoryMetrics().bindTo(metrics);
            new JvmThreadMetrics().bindTo(metrics);
            new ProcessorMetrics().bindTo(metrics);
            new FleetMetrics(discovery).bindTo(metrics);
            SovereigntyReport report = new SovereigntyReport(audit, auditVerifier, auditAtStart, egress, registry,
                    Model::classification, () -> keyProviders(keyHierarchy, auditKey), keyHierarchy::keks,
                    software(), clock);
            ModelsAdminResource modelsAdmin = new ModelsAdminResource(registry, projects, access);
            this.server = new ApiServer(config.server(), tls.map(ServerTls.Prepared::identity), authentication, authorizer,
                    new RequestAudit(audit, journal, clock, auditContent, projects::contentLogging), metrics,
                    Map.of("database", database::isHealthy, "audit", auditAtStart::ok),
                    List.of(new EmbeddingsResource(inference),
                            new ChatCompletionsResource(inference, clock),
                            new ResponsesResource(inference, new ResponseStore(database.jdbi(), auditContent,
                                    projects::contentLogging, clock), clock),
                            new ConverseResource(inference, clock),
                            new InvokeResource(inference, clock),
                            new FoundationModelsResource(deployments, registry, access),
                            new ModelImportResource(imports, registry, access),
                            new ModelCustomizationResource(customizations, trainingJobs, registry, deployments, access),
                            new CompletionsResource(inference, clock),
                            new ModelsResource(deployments, registry, access),
                            modelsAdmin,
                            new BundlesResource(new ModelBundles(registry, clock), modelsAdmin, projects, access,
                                    RuntimeFiles::ofThisProcess, ai.factory.BuildInfo.load().factoryLine()),
                            new DatasetsResource(datasets, projects, access),
                            new TrainingJobsResource(trainingJobs, projects, access),
                            new KeysResource(keys, projects, access),
                            new DeploymentsResource(deployments, access),
                            new FleetResource(discovery, deployments, gpus, hostMemory, this::offload, access),
                            new NodesResource(joinTokens, nodes, assignments, leadership, config.cluster(),
                                    this::clusterPort,
                                    clock),
                            new ProjectsResource(projects, keyHierarchy, registry.signatures()),
                            new EncryptionResource(keyHierarchy),
                            new PoliciesResource(sitePolicies),
                            new AuditResource(audit, auditVerifier, auditContent, access),
                            new UsageResource(auditStore, usage, chargeback, access, clock),
                            new QuotasResource(quotas, projects, keys, access),
                            new SovereigntyResource(report),
                            new SelfResource(access, signIn.isPresent()),
                            new SignInResource(signIn, authentication, config.oidc(),
                                    config.server().publicUrl())));
            closeInOrder.addFirst(server);
            if (config.cluster().port().isPresent()) {
                ClusterServer cluster = new ClusterServer(config.server().host(), config.cluster(),
                        clusterCa.get().serverIdentity(clusterNames(config)),
                        clusterCa.get().certificate(), nodes, assignments, registry,
                        () -> leadership.replicas(config.cluster().heartbeatDeadline()));
                closeInOrder.addFirst(cluster);
                this.clusterServer = cluster.start();
                if (workerEngines != null) {
                    workerEngines.listening();
                }
                leadership.announce(URI.create("https://" + WorkerEngines.hostOf(advertised(config)) + ":" + cluster.port()));
                LOG.info("taking workers: the cluster endpoint (mutual TLS) listens on port {}", cluster.port());
            }
            server.start();
            writeServerFile();
        } catch (RuntimeException e) {
            close();
            throw e;
        } finally {
            try {
                siteLock.close();
            } catch (Exception e) {
                LOG.warn("cannot release the site folder's lock: {}", e.getMessage());
            }
        }
    }

    /** Builds and starts a factory; the caller closes it to shut down gracefully. */
    public static Factory start(FactoryConfig config) {
        return start(config, Options.DEFAULTS);
    }

    /** As {@link #start(FactoryConfig)}, with {@code options} in place of the defaults. */
    public static Factory start(FactoryConfig config, Options options) {
        requireNonNull(options, "options is null");
        return new Factory(config, options.clock(), options.commands(), options.acceptBrokenAudit(),
                options.leadershipLost());
    }

    /**
     * How a factory starts, beyond its configuration.
     *
     * @param clock the time every part of the factory reads: audit records, keys, digests, certificates, the date
     *     chat templates see (in the machine's zone)
     * @param commands runs the accelerator discovery tools ({@code nvidia-smi} and the like)
     * @param acceptBrokenAudit starts even on an audit chain that does not verify, records that it did, and reports
     *     the break in {@code /health/ready} and the sovereignty report ({@code factory up --accept-broken-audit})
     */
    public record Options(Clock clock, CommandRunner commands, boolean acceptBrokenAudit, Runnable leadershipLost) {
        /** The system clock in UTC, the machine's own tools, a chain that must verify, a lost leadership logged. */
        public static final Options DEFAULTS = new Options(Clock.systemUTC(), CommandRunner.system(), false,
                () -> LOG.error("this control-plane replica lost its leadership while it runs; restart it"));

        public Options {
            requireNonNull(clock, "clock is null");
            requireNonNull(commands, "commands is null");
            requireNonNull(leadershipLost, "leadershipLost is null");
        }

        public Options withClock(Clock clock) {
            return new Options(clock, commands, acceptBrokenAudit, leadershipLost);
        }

        public Options withCommands(CommandRunner commands) {
            return new Options(clock, commands, acceptBrokenAudit, leadershipLost);
        }

        public Options withAcceptBrokenAudit(boolean acceptBrokenAudit) {
            return new Options(clock, commands, acceptBrokenAudit, leadershipLost);
        }

        /**
         * What to do when this control-plane replica stops leading while it runs (its lock's connection broke): the
         * singleton work it started (fine-tuning, imports, retention) cannot be taken back safely, so {@code factory
         * up} stops the process, and its supervisor (systemd, Kubernetes) starts it again as a follower.
         */
        public Options withLeadershipLost(Runnable leadershipLost) {
            return new Options(clock, commands, acceptBrokenAudit, leadershipLost);
        }
    }


    /**
     * Verifies the digest chain and the records since the last digest before anything is appended
     * ({@link AuditVerifier#verifyAtStart}); a break stops the start unless it is accepted.
     */
    private static AuditStartCheck checkAuditChain(AuditVerifier verifier, boolean acceptBroken, Clock clock) {
        AuditVerification result = verifier.verifyAtStart(List.of());
        if (result.ok()) {
            return new AuditStartCheck(result, false, clock.instant());
        }
        AuditVerification.Problem p = result.problem().orElseThrow();
        String broken = "the audit chain is broken at record " + p.seq() + " ("
                + p.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + "): " + p.message();
        if (!acceptBroken) {
            throw new FactoryException(ErrorCode.CONFLICT, broken + ". Run 'factory audit verify' for the whole chain; "
                    + "to start on it anyway, give 'factory up --accept-broken-audit' (the acceptance is recorded, "
                    + "and /health/ready reports audit down)");
        }
        LOG.error("starting on a broken audit chain (--accept-broken-audit): {}", broken);
        return new AuditStartCheck(result, true, clock.instant());
    }

    /**
     * Repairs the blob store after a crash ({@link BlobSweep}) before anything reads or writes it; what was removed is
     * logged and recorded in the audit chain, with the bytes it freed.
     */
    private void sweepBlobs(BlobStore blobs, KeyHierarchy keys, ModelRegistry registry, AuditContent content,
                            Datasets datasets, TrainingJobs trainingJobs, AuditLog audit, Clock clock) {
        Set<BlobSweep.Blob> referenced = new HashSet<>(registry.referencedBlobs());
        referenced.addAll(content.referencedBlobs());
        referenced.addAll(datasets.referencedBlobs());
        referenced.addAll(trainingJobs.referencedBlobs());
        BlobSweep.Report report = BlobSweep.sweep(blobs, keys.dataKeyBlobs(), referenced,
                b -> keys.deleteDataKey(b.owner(), b.sha256()));
        if (report.clean()) {
            return;
        }
        LOG.atLevel(report.missing().isEmpty() ? Level.WARN : Level.ERROR)
                .log("blob store repaired after an interrupted run: {}", report.summary());
        audit.record(new AuditEvent(clock.instant(), SYSTEM.id(), SYSTEM.name(), "", STORE_SWEEP, "blob store",
                AuditEvent.ALLOW, report.missing().isEmpty() ? AuditEvent.SUCCESS : AuditEvent.FAILURE, 0, "factory",
                "", 0, report.bytesFreed(), 0, 0, report.summary()));
    }

    /** Whether the llama.cpp natives can offload to a GPU; no when they are not there at all. */
    private FleetResource.GpuOffloadStatus offload() {
        try {
            LlamaRuntime runtime = llama.get();
            return new FleetResource.GpuOffloadStatus(runtime.gpuOffload(), runtime.offloadSummary());
        } catch (FactoryException e) {
            return new FleetResource.GpuOffloadStatus(false, "no (" + e.getMessage() + ")");
        }
    }

    public String url() {
        return server.url();
    }

    public int port() {
        return server.port();
    }

    /** Every HTTP endpoint the server holds, with the action that guards it (or that it is public). */
    public List<ApiServer.RouteInfo> routes() {
        return server.routes();
    }

    /**
     * The SHA-256 fingerprint of the site CA when this start created it (TLS on without a site certificate); shown
     * once, so an operator can compare it with what clients are given.
     */
    public Optional<String> newSiteCaFingerprint() {
        return tls.flatMap(ServerTls.Prepared::newCaFingerprint);
    }

    /** The generated site CA's certificate, which clients trust, when the server's certificate comes from it. */
    public Optional<Path> siteCaCertificate() {
        return tls.flatMap(ServerTls.Prepared::siteCa);
    }

    /** The admin key created at this start, if there was none before; shown once, also saved to admin.key. */
    public Optional<String> newAdminKey() {
        return newAdminKey;
    }

    /** The one way the factory connects out (policy-checked, recorded in the audit chain). */
    /** The OpenID Connect client's requests, through the egress gate: checked, recorded, never redirected. */
    private OidcIssuer.Answer oidcRequest(java.net.URI uri, @Nullable String form, @Nullable String authorization,
                                          String purpose) throws java.io.IOException {
        java.net.http.HttpRequest.Builder request = java.net.http.HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(10)).header("Accept", "application/json");
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        if (form != null) {
            request.header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(form));
        }
        try {
            java.net.http.HttpResponse<byte[]> response = egress.send(request.build(), purpose);
            return new OidcIssuer.Answer(response.statusCode(), response.body());
        } catch (FactoryException e) {
            throw new java.io.IOException(e.getMessage(), e);
        }
    }

    public Egress egress() {
        return egress;
    }

    public FactoryConfig config() {
        return config;
    }

    /** Whether this process leads the singleton work among the control-plane replicas on its database. */
    public Leadership leadership() {
        return leadership;
    }

    /** Fine-tuning jobs: queued, run one at a time, resumed after a restart. */
    public TrainingJobs trainingJobs() {
        return trainingJobs;
    }

    /**
     * Where workers reach this replica's cluster port: {@code cluster.advertise}, else the server's host, else (it
     * listens on every address) this machine's address.
     */
    private static String advertised(FactoryConfig config) {
        return config.cluster().advertise().orElseGet(() -> {
            String host = config.server().host();
            if (!ServerTls.isWildcard(host)) {
                return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
            }
            return machineAddress();
        });
    }

    /**
     * This machine's address for others to reach: the first IPv4 address, then IPv6, of an interface that is up and
     * not the loopback (the host name's address is often 127.0.1.1, which no other machine reaches); the loopback
     * address when there is none.
     */
    private static String machineAddress() {
        try {
            List<java.net.InetAddress> found = new ArrayList<>();
            for (java.net.NetworkInterface nic : java.util.Collections.list(
                    java.net.NetworkInterface.getNetworkInterfaces())) {
                if (nic.isUp() && !nic.isLoopback() && !nic.isVirtual()) {
                    java.util.Collections.list(nic.getInetAddresses()).stream()
                            .filter(a -> !a.isLoopbackAddress() && !a.isLinkLocalAddress()).forEach(found::add);
                }
            }
            return found.stream().sorted(java.util.Comparator.comparingInt(
                            a -> a instanceof java.net.Inet4Address ? 0 : 1))
                    .map(java.net.InetAddress::getHostAddress).findFirst().orElse("127.0.0.1");
        } catch (java.net.SocketException e) {
            return "127.0.0.1";
        }
    }

    /** The names the cluster port's certificate carries: the API server's, and the advertised one. */
    private static java.util.Set<String> clusterNames(FactoryConfig config) {
        java.util.Set<String> names = new java.util.LinkedHashSet<>(ServerTls.names(config.server()));
        names.add(advertised(config));
        return names;
    }


    /** The port of the cluster endpoint workers call, or 0 when this factory takes no workers. */
    public int clusterPort() {
        ClusterServer cluster = clusterServer;
        return cluster == null ? 0 : cluster.port();
    }

    /** This node's host memory: what deployments and fine-tuning jobs hold, under {@code memory.limit}. */
    public HostMemory hostMemory() {
        return hostMemory;
    }

    /** The fine-tuning datasets of every project; training jobs read their examples from here. */
    public Datasets datasets() {
        return datasets;
    }

    /** The metadata database this factory opened, for tools and tests that look at what it stores and reads. */
    public Database database() {
        return database;
    }

    /**
     * Loads a replica's engine from the model's encrypted blobs without a plaintext copy on disk: the bundled ONNX
     * model is decrypted onto the heap (tens of MB) and handed over as bytes; a GGUF is decrypted into an anonymous
     * in-memory file whose {@code /proc/self/fd} path llama.cpp opens, closed as soon as llama.cpp has it.
     */
    private Engine loadEngine(ModelRegistry registry, ModelVersion version, DeploymentSpec spec, ReplicaPlacement placement) {
        return switch (version.format()) {
            case ONNX -> loadOnnx(registry, version, spec);
            case GGUF -> loadGguf(registry, version, spec, placement);
        };
    }

    /**
     * The tokenizer's native library is unpacked into {@code cache/native} with the process umask: the folder is made
     * owner-only before, and what was unpacked is narrowed after.
     */
    private Engine loadOnnx(ModelRegistry registry, ModelVersion version, DeploymentSpec spec) {
        Path cache = config.home().resolve("cache");
        Path nativeCache = cache.resolve("native");
        try {
            PrivateFiles.createDirectories(nativeCache);
            Engine engine = OnnxEmbeddingEngine.open(registry.readAllBytes(version, BundledMiniLm.NAME_MODEL_FILE),
                    registry.readAllBytes(version, BundledMiniLm.NAME_TOKENIZER_FILE), version.ref().toString(),
                    OnnxEmbeddingOptions.defaults()
                            .withThreads(spec.threadsOr(config.engines().effectiveEmbeddingThreads()))
                            .withNativeCacheDir(nativeCache));
            PrivateFiles.narrow(cache);
            return engine;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep " + cache + " private to its owner", e);
        }
    }

    private Engine loadGguf(ModelRegistry registry, ModelVersion version, DeploymentSpec spec, ReplicaPlacement placement) {
        LlamaRuntime runtime = llama.get();
        String fileName = version.files().getFirst().path();
        try (SeekableByteChannel plaintext = registry.open(version, fileName);
                MemoryFile weights = MemoryFile.copyOf(plaintext, version.model() + ":" + version.version())) {
            // Named as callers name the model (its messages reach them: "model acme/m:1 is busy"), not by its file.
            return LlamaEngine.loadFromMemory(runtime, weights.path(), version.ref().toString(),
                    LlamaEngineOptions.defaults()
                            .withContextPerSequence(spec.effectiveContext(version))
                            .withParallel(spec.parallel())
                            .withThreads(spec.threadsOr(config.engines().effectiveGenerationThreads()))
                            .withQueueCapacity(spec.queue())
                            .withStepTokens(spec.stepTokens())
                            .withCacheType(spec.cacheType())
                            .withPrefixCache(spec.prefixCache())
                            .withGpu(placement.onGpu()
                                    ? GpuOffload.onDevices(placement.gpuLayers(), placement.gpus(), placement.layersPerGpu())
                                    : GpuOffload.CPU));
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot decrypt " + version.ref() + ": " + e.getMessage(), e);
        }
    }

    /**
     * A GGUF model's vocabulary alone, for a control plane that tokenizes for replicas on workers: only the file's
     * metadata (its first megabytes at most) is decrypted, into an anonymous in-memory file as long as the whole whose
     * other pages are never written, and llama.cpp reads the vocabulary from it.
     */
    private Vocabulary loadVocabulary(ModelRegistry registry, ModelVersion version) {
        String fileName = version.files().getFirst().path();
        try (SeekableByteChannel plaintext = registry.open(version, fileName)) {
            long metadata = GgufReader.read(plaintext, plaintext.size()).tensorDataOffset();
            try (MemoryFile start = MemoryFile.prefixOf(plaintext, metadata,
                    version.model() + ":" + version.version() + "-vocabulary")) {
                return LlamaVocabulary.load(llama.get(), start.path(), version.ref().toString());
            }
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot read the vocabulary of " + version.ref()
                    + ": " + e.getMessage(), e);
        }
    }

    private static MasterKeys masterKeys(FactoryConfig config) {
        KeysConfig keys = config.keys();
        return switch (keys.provider()) {
            case LOCAL -> MasterKeys.local(config.masterKeystoreFile(),
                    keys.keystorePassword().map(String::toCharArray).orElse(null), config.masterKeystorePasswordFile(),
                    keys.masterKeyLabel());
            case PKCS11 -> MasterKeys.pkcs11(keys.pkcs11().orElseThrow(), keys.masterKeyLabel());
        };
    }

    /** The transparency logs' public keys ({@code models.transparencyLogKeys}): keys only, no certificates. */
    private static List<java.security.PublicKey> transparencyLogKeys(FactoryConfig config) {
        ModelSigning.Trust logs = ModelSigning.Trust.load(config.models().transparencyLogKeys(),
                Setting.TRANSPARENCY_LOG_KEYS.key());
        if (logs.hasAuthorities()) {
            throw new IllegalArgumentException(Setting.TRANSPARENCY_LOG_KEYS.key() + " names a certificate; it takes "
                    + "the logs' public keys (BEGIN PUBLIC KEY), as the logs publish them");
        }
        return logs.keys();
    }

    /** What this process runs as, for the sovereignty report. */
    private static SovereigntyReport.Software software() {
        var natives = LlamaRuntime.onDisk();
        return new SovereigntyReport.Software(ai.factory.BuildInfo.load().factoryLine(),
                ai.factory.BuildInfo.sbomSha256().orElse(null), natives.map(n -> "llama.cpp "
                        + n.version().orElse("(version unknown)") + " from " + n.provenance()
                        .map(LlamaRuntime.Provenance::describe).orElse(String.valueOf(n.library().getParent())))
                        .orElse(null));
    }

    /**
     * The site's signing key ({@code models.signingKey}): a PEM file, or {@code pkcs11:LABEL} on the token
     * {@code keys.pkcs11.*} names, with the certificate chain in {@code models.signingCertificate}, if any.
     */
    private static Optional<SigningKey> siteSigningKey(FactoryConfig config) {
        Optional<String> key = config.models().signingKey();
        if (key.isEmpty()) {
            return Optional.empty();
        }
        Path certificate = config.models().signingCertificate().orElse(null);
        String setting = Setting.SIGNING_KEY.key() + " (" + Setting.SIGNING_KEY.env() + ")";
        if (!key.get().startsWith(ModelsConfig.PKCS11_KEY)) {
            return Optional.of(SigningKey.fromPem(Path.of(key.get()), certificate, setting));
        }
        Pkcs11Settings token = config.keys().pkcs11().orElseThrow(() -> new IllegalArgumentException(setting
                + " names a key in an HSM, and keys.pkcs11.library, keys.pkcs11.slot or keys.pkcs11.tokenLabel, and "
                + "keys.pkcs11.pin do not say which token"));
        Pkcs11SigningKey hsm = Pkcs11SigningKey.open(token, key.get().substring(ModelsConfig.PKCS11_KEY.length()));
        return Optional.of(SigningKey.of(hsm, certificate == null ? List.of()
                : Pem.certificates(certificate, Setting.SIGNING_CERTIFICATE.key())));
    }

    /**
     * An install from before the key hierarchy sealed AWS secrets with {@code master.key}: seal them again under the
     * site key. The file is left where it is (database backups from before still need it) and no longer used.
     */
    private void resealLegacySecrets(ApiKeys keys) {
        Optional<MasterKey> legacy = MasterKey.loadIfPresent(config.masterKeyFile());
        if (legacy.isPresent()) {
            int resealed = keys.resealLegacySecrets(legacy.get(), KeyHierarchy::isSealedHere);
            if (resealed > 0) {
                LOG.info("sealed {} AWS secret(s) again under the site key; {} is no longer used (keep it only as long "
                        + "as database backups from before this start)", resealed, config.masterKeyFile());
            }
        }
    }

    /** The keys the factory holds, for the sovereignty report; never the keys themselves. */
    private List<KeyProvider> keyProviders(KeyHierarchy hierarchy, AuditKey auditKey) {
        MasterKeys master = hierarchy.master();
        List<KeyProvider> out = new ArrayList<>();
        List<Integer> versions = master.versions();
        out.add(new KeyProvider("site master key", master.kind().id(), "AES-256-GCM, versions " + versions + ", current "
                + versions.getLast(), master.location(), "the key-encryption keys of every project and of the site"));
        hierarchy.kek(BlobOwner.SITE).ifPresent(k -> out.add(new KeyProvider("site key-encryption key",
                "wrapped-in-database", "AES-256-GCM (Tink), version " + k.version() + ", wrapped by master version "
                + k.masterVersion(), "database table key_encryption_keys, owner " + BlobOwner.SITE,
                "the data keys of the bundled models' blobs (" + k.dataKeys() + ") and AWS secret access keys")));
        out.add(new KeyProvider("project key-encryption keys", "wrapped-in-database",
                "AES-256-GCM (Tink), one per project", "database table key_encryption_keys",
                "the data keys of each project's model blobs (AES-256-GCM-HKDF streaming, one per blob); see projectKeys"));
        out.add(new KeyProvider("audit signing key", "local-file", "Ed25519 (key id " + auditKey.keyId() + ")",
                config.auditKeyFile().toString(), "signatures of the audit digests"));
        if (Files.exists(config.masterKeyFile())) {
            out.add(new KeyProvider("legacy master key", "local-file", "AES-256-GCM", config.masterKeyFile().toString(),
                    "nothing current: only AWS secrets in database backups taken before the key hierarchy"));
        }
        return out;
    }

    /**
     * llama.cpp's natives, loaded once for the process on first need. When they can't be had the factory
     * still serves everything else and says why at start; GGUF deployments fail with the same reason.
     */
    private static Supplier<LlamaRuntime> llamaRuntime() {
        Supplier<LlamaRuntime> loader = LlamaRuntime::load;
        return new Supplier<>() {
            private @Nullable LlamaRuntime runtime;

            @Override
            public synchronized LlamaRuntime get() {
                if (runtime == null) {
                    runtime = loader.get();
                }
                return runtime;
            }
        };
    }

    private Optional<String> bootstrapAdminKey(ApiKeys keys) {
        if (keys.hasActiveAdmin()) {
            return Optional.empty();
        }
        String secret = keys.create("admin", Principal.DEFAULT_PROJECT, Role.ADMIN, null).secret();
        writePrivateFile(config.adminKeyFile(), secret + "\n");
        LOG.info("created the admin API key and saved it to {}", config.adminKeyFile());
        return Optional.of(secret);
    }

    private void writeServerFile() {
        String json = "{\"url\": \"" + server.url() + "\", \"pid\": " + ProcessHandle.current().pid() + "}\n";
        try {
            PrivateFiles.createDirectories(requireNonNull(config.serverFile().getParent(), "no parent folder"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        writePrivateFile(config.serverFile(), json);
    }

    /** Writes a file readable by its owner only (0600), replacing any earlier one atomically. */
    private static void writePrivateFile(Path file, String content) {
        try {
            PrivateFiles.write(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** This process among others sharing the database: its host and its home. */
    private static String node(FactoryConfig config) {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            host = "localhost";
        }
        String node = host + ":" + config.home().toAbsolutePath().normalize();
        return node.length() <= 200 ? node : node.substring(node.length() - 200);
    }

    /**
     * Graceful shutdown: stop taking requests, finish in-flight ones, unload engines, close the database, remove
     * {@code server.json}, and only then release the home for the next factory.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return; // a second close would remove the server.json of a factory started on this home since
        }
        closed = true;
        for (AutoCloseable c : closeInOrder) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("error while shutting down {}", c.getClass().getSimpleName(), e);
            }
        }
        closeInOrder.clear();
        try {
            Files.deleteIfExists(config.serverFile());
        } catch (IOException e) {
            LOG.warn("cannot remove {}", config.serverFile(), e);
        }
        try {
            homeLock.close();
        } catch (RuntimeException e) {
            LOG.warn("cannot release {}", homeLock.file(), e);
        }
    }

    /** What each ready deployment runs now, for the usage rollups' replica time. */
    private static List<UsageRollups.ReplicaUse> replicaUse(Deployments deployments) {
        List<UsageRollups.ReplicaUse> uses = new ArrayList<>();
        for (Deployment d : deployments.list()) {
            if (d.state() instanceof DeploymentState.Ready ready) {
                int gpus = deployments.placements(d.id()).stream().mapToInt(p -> p.gpus().size()).sum();
                uses.add(new UsageRollups.ReplicaUse(d.project(), d.model().toString(), ready.replicas().size(), gpus));
            }
        }
        return uses;
    }
}
