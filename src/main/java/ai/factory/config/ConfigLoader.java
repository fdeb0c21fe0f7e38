package ai.factory.config;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.function.Function;

/**
 * Resolves {@link FactoryConfig} from four layers, later ones winning: built-in defaults,
 * {@code $FACTORY_HOME/factory.yaml}, {@code FACTORY_*} environment variables, and command-line flags.
 * The home folder itself comes from {@code --home}, then {@code FACTORY_HOME}, then {@code ~/.factory}.
 */
public final class ConfigLoader {
    public static final String HOME_ENV = "FACTORY_HOME";
    public static final String CONFIG_FILE = "factory.yaml";

    private final Map<String, String> env;

    public ConfigLoader(Map<String, String> env) {
        this.env = Map.copyOf(requireNonNull(env, "env is null"));
    }

    public static ConfigLoader fromSystem() {
        return new ConfigLoader(System.getenv());
    }

    /** The home folder, from the flag if given, else the environment, else {@code ~/.factory}. */
    public Path home(@Nullable Path homeFlag) {
        if (homeFlag != null) {
            return homeFlag.toAbsolutePath().normalize();
        }
        String fromEnv = env.get(HOME_ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv).toAbsolutePath().normalize();
        }
        return Path.of(System.getProperty("user.home"), ".factory");
    }

    /**
     * @param homeFlag the {@code --home} flag, or null
     * @param flags values given as flags, by setting; they override everything else
     */
    public FactoryConfig load(@Nullable Path homeFlag, Map<Setting, String> flags) {
        Path home = home(homeFlag);
        Map<Setting, String> values = new EnumMap<>(Setting.class);
        for (Setting s : Setting.values()) {
            values.put(s, s.defaultValue().replace("$" + HOME_ENV, home.toString()));
        }
        values.putAll(readYaml(home.resolve(CONFIG_FILE)));
        for (Setting s : Setting.values()) {
            String v = env.get(s.env());
            if (v != null) {
                values.put(s, v);
            }
        }
        values.putAll(flags);
        try {
            return build(home, values);
        } catch (IllegalArgumentException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "invalid configuration: " + e.getMessage(), e);
        }
    }

    private static FactoryConfig build(Path home, Map<Setting, String> v) {
        ServerConfig server = new ServerConfig(
                value(v, Setting.HOST),
                parse(v, Setting.PORT, Integer::parseInt),
                parse(v, Setting.SHUTDOWN_GRACE, Units::parseDuration),
                parse(v, Setting.MAX_REQUEST_SIZE, Units::parseSize),
                parse(v, Setting.GENERATION_TIMEOUT, Units::parseDuration),
                tls(v),
                Optional.ofNullable(emptyToNull(value(v, Setting.PUBLIC_URL))).map(text -> parse(v, Setting.PUBLIC_URL,
                        t -> java.net.URI.create(t.strip().replaceAll("/+$", "")))));
        DatabaseConfig database = new DatabaseConfig(
                value(v, Setting.DB_URL),
                emptyToNull(value(v, Setting.DB_USER)),
                emptyToNull(value(v, Setting.DB_PASSWORD)),
                parse(v, Setting.DB_POOL_SIZE, Integer::parseInt),
                Duration.ofSeconds(10));
        return new FactoryConfig(home, server, database,
                new ModelsConfig(parse(v, Setting.MAX_UPLOAD_SIZE, Units::parseSize),
                        Optional.ofNullable(emptyToNull(value(v, Setting.IMPORT_ROOT)))
                                .map(r -> Path.of(r).toAbsolutePath().normalize()),
                        parse(v, Setting.BUILTIN_MODELS, ConfigLoader::parseBoolean),
                        parse(v, Setting.SIGNATURE_POLICY, ModelsConfig.SignaturePolicy::parse),
                        java.util.Arrays.stream(value(v, Setting.TRUSTED_SIGNERS).split(",")).map(String::strip)
                                .filter(f -> !f.isEmpty()).map(f -> Path.of(f).toAbsolutePath().normalize()).toList(),
                        Optional.ofNullable(emptyToNull(value(v, Setting.SIGNING_KEY))).map(String::strip)
                                .map(k -> k.startsWith(ModelsConfig.PKCS11_KEY) ? k
                                        : Path.of(k).toAbsolutePath().normalize().toString()),
                        Optional.ofNullable(emptyToNull(value(v, Setting.SIGNING_CERTIFICATE)))
                                .map(c -> Path.of(c.strip()).toAbsolutePath().normalize()),
                        parse(v, Setting.SIGNATURE_POLICY_BY_CLASSIFICATION, ModelsConfig::parsePolicies),
                        java.util.Arrays.stream(value(v, Setting.TRUSTED_IDENTITIES).split(";")).map(String::strip)
                                .filter(i -> !i.isEmpty()).toList(),
                        java.util.Arrays.stream(value(v, Setting.TRANSPARENCY_LOG_KEYS).split(",")).map(String::strip)
                                .filter(f -> !f.isEmpty()).map(f -> Path.of(f).toAbsolutePath().normalize()).toList(),
                        parse(v, Setting.TRUSTED_SIGNERS_BY_CLASSIFICATION, ModelsConfig::parseSigners)),
                new EnginesConfig(parse(v, Setting.EMBEDDING_THREADS, Integer::parseInt),
                        parse(v, Setting.GENERATION_THREADS, Integer::parseInt),
                        parse(v, Setting.TRAINING_THREADS, Integer::parseInt),
                        parse(v, Setting.TRAINING_NICENESS, Integer::parseInt),
                        Optional.ofNullable(emptyToNull(value(v, Setting.MEMORY_LIMIT)))
                                .map(l -> OptionalLong.of(parse(v, Setting.MEMORY_LIMIT, Units::parseSize)))
                                .orElse(OptionalLong.empty())),
                new AuditConfig(parse(v, Setting.AUDIT_DIGEST_EVERY, Integer::parseInt),
                        parse(v, Setting.AUDIT_DIGEST_INTERVAL, Units::parseDuration),
                        Optional.ofNullable(emptyToNull(value(v, Setting.AUDIT_CONTENT_RETENTION)))
                                .map(r -> parse(v, Setting.AUDIT_CONTENT_RETENTION, Units::parseDuration))),
                parse(v, Setting.EGRESS_ALLOW, EgressPolicy::parse),
                keys(v),
                new ClusterConfig(Optional.ofNullable(emptyToNull(value(v, Setting.CLUSTER_PORT)))
                        .map(p -> OptionalInt.of(parse(v, Setting.CLUSTER_PORT, Integer::parseInt)))
                        .orElse(OptionalInt.empty()),
                        parse(v, Setting.CLUSTER_HEARTBEAT_DEADLINE, Units::parseDuration),
                        parse(v, Setting.CLUSTER_ROLE, ClusterConfig.Role::parse),
                        Optional.ofNullable(emptyToNull(value(v, Setting.CLUSTER_SITE))).map(p -> Path.of(p.strip())),
                        Optional.ofNullable(emptyToNull(value(v, Setting.CLUSTER_ADVERTISE))),
                        parse(v, Setting.CLUSTER_PLACEMENT, ClusterConfig.Placement::parse)),
                oidc(v),
                new QuotasConfig(Optional.ofNullable(emptyToNull(value(v, Setting.QUOTAS_TIME_ZONE)))
                        .map(z -> parse(v, Setting.QUOTAS_TIME_ZONE, ConfigLoader::zone))
                        .orElseGet(ZoneId::systemDefault)));
    }

    private static ZoneId zone(String id) {
        try {
            return ZoneId.of(id.strip());
        } catch (java.time.DateTimeException e) {
            throw new IllegalArgumentException("not a time zone (Europe/Berlin, UTC, +01:00): " + id);
        }
    }

    private static Optional<OidcConfig> oidc(Map<Setting, String> v) {
        String issuer = value(v, Setting.OIDC_ISSUER).strip();
        if (issuer.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new OidcConfig(parse(v, Setting.OIDC_ISSUER, text -> java.net.URI.create(text.strip())),
                OidcConfig.parseAudiences(value(v, Setting.OIDC_AUDIENCE)),
                OidcConfig.parseRoleMapping(value(v, Setting.OIDC_ROLE_MAPPING)),
                parse(v, Setting.OIDC_CLOCK_SKEW, Units::parseDuration),
                Optional.ofNullable(emptyToNull(value(v, Setting.OIDC_CLIENT_ID))).map(String::strip),
                Optional.ofNullable(emptyToNull(value(v, Setting.OIDC_CLIENT_SECRET))),
                parse(v, Setting.OIDC_SESSION_LENGTH, Units::parseDuration),
                Optional.ofNullable(emptyToNull(value(v, Setting.OIDC_CLI_CLIENT_ID))).map(String::strip)));
    }

    private static TlsConfig tls(Map<Setting, String> v) {
        return new TlsConfig(parse(v, Setting.TLS_ENABLED, ConfigLoader::parseBoolean),
                Optional.ofNullable(emptyToNull(value(v, Setting.TLS_CERTIFICATE))).map(p -> Path.of(p.strip()).toAbsolutePath().normalize()),
                Optional.ofNullable(emptyToNull(value(v, Setting.TLS_KEY))).map(p -> Path.of(p.strip()).toAbsolutePath().normalize()),
                Arrays.stream(value(v, Setting.TLS_NAMES).split(",")).map(String::strip).filter(n -> !n.isEmpty())
                        .toList());
    }

    private static boolean parseBoolean(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("must be true or false");
        };
    }

    private static KeysConfig keys(Map<Setting, String> v) {
        KeysConfig.Provider provider = parse(v, Setting.KEYS_PROVIDER, KeysConfig.Provider::parse);
        Optional<Pkcs11Settings> pkcs11 = Optional.empty();
        String library = emptyToNull(value(v, Setting.PKCS11_LIBRARY));
        // The token also serves a site signing key in it (models.signingKey pkcs11:LABEL) when the master key is local.
        if (provider == KeysConfig.Provider.PKCS11 || library != null) {
            if (library == null) {
                throw new IllegalArgumentException("keys.provider pkcs11 needs keys.pkcs11.library (FACTORY_PKCS11_LIBRARY)");
            }
            String slot = emptyToNull(value(v, Setting.PKCS11_SLOT));
            pkcs11 = Optional.of(new Pkcs11Settings(Path.of(library).toAbsolutePath().normalize(),
                    slot == null ? OptionalLong.empty() : OptionalLong.of(parse(v, Setting.PKCS11_SLOT, Long::parseLong)),
                    Optional.ofNullable(emptyToNull(value(v, Setting.PKCS11_TOKEN_LABEL))),
                    Optional.ofNullable(value(v, Setting.PKCS11_PIN)).orElse("")));
        }
        return new KeysConfig(provider, Optional.ofNullable(emptyToNull(value(v, Setting.KEYSTORE_PASSWORD))),
                value(v, Setting.MASTER_KEY_LABEL).strip(), pkcs11);
    }

    private static <T> T parse(Map<Setting, String> values, Setting setting, Function<String, T> parser) {
        String raw = value(values, setting);
        try {
            return parser.apply(raw.trim());
        } catch (RuntimeException e) {
            String shown = setting.secret() ? "(secret)" : "'" + raw + "'";
            throw new IllegalArgumentException(setting.key() + " (" + setting.env() + ") = " + shown + ": "
                    + (e instanceof NumberFormatException ? "not a number" : e.getMessage()), e);
        }
    }

    /** The value of a setting in a resolved map, where every setting has one (its default at least). */
    private static String value(Map<Setting, String> values, Setting setting) {
        return requireNonNull(values.get(setting), () -> setting.key() + " has no value");
    }

    private static @Nullable String emptyToNull(@Nullable String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static Map<Setting, String> readYaml(Path file) {
        Map<Setting, String> out = new EnumMap<>(Setting.class);
        if (!Files.isRegularFile(file)) {
            return out;
        }
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
        } catch (JacksonException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST,
                    file + " is not valid YAML: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot read " + file + ": " + e.getMessage(), e);
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return out;
        }
        if (!root.isObject()) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, file + " must be a mapping of settings");
        }
        flatten("", root, out, file);
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<Setting, String> out, Path file) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix + e.getKey();
            if (e.getValue().isObject()) {
                flatten(key + ".", e.getValue(), out, file);
                continue;
            }
            Setting setting = Setting.byKey(key).orElseThrow(() -> new FactoryException(ErrorCode.INVALID_REQUEST,
                    "unknown setting '" + key + "' in " + file + "; the README's configuration table lists them"));
            if (!e.getValue().isValueNode()) {
                throw new FactoryException(ErrorCode.INVALID_REQUEST,
                        "setting '" + key + "' in " + file + " must be a single value");
            }
            out.put(setting, e.getValue().asText());
        }
    }
}
