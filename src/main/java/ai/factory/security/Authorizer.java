package ai.factory.security;

import static java.util.Objects.requireNonNull;

import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import com.cedarpolicy.AuthorizationEngine;
import com.cedarpolicy.BasicAuthorizationEngine;
import com.cedarpolicy.model.AuthorizationRequest;
import com.cedarpolicy.model.AuthorizationResponse;
import com.cedarpolicy.model.DetailedError;
import com.cedarpolicy.model.ValidationRequest;
import com.cedarpolicy.model.ValidationResponse;
import com.cedarpolicy.model.entity.Entity;
import com.cedarpolicy.model.exception.AuthException;
import com.cedarpolicy.model.exception.CacheException;
import com.cedarpolicy.model.exception.InternalException;
import com.cedarpolicy.model.policy.Policy;
import com.cedarpolicy.model.policy.PolicySet;
import com.cedarpolicy.model.schema.Schema;
import com.cedarpolicy.value.EntityTypeName;
import com.cedarpolicy.value.EntityUID;
import com.cedarpolicy.value.PrimBool;
import com.cedarpolicy.value.PrimString;
import com.cedarpolicy.value.Value;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Every authorization decision of the factory, made by Cedar: the built-in policies for the roles
 * ({@code builtin-policies.cedar}) plus the site policies the operator added, over entities built for each request
 * (the principal with its role and project, the project, the model or dataset with its classification, the
 * deployment, key or training job).
 * A forbid in any policy wins over every permit; no permit means deny.
 */
public final class Authorizer {
    private static final Logger LOG = LoggerFactory.getLogger(Authorizer.class);
    private static final EntityTypeName PRINCIPAL = type("Principal");
    private static final EntityTypeName ROLE = type("Role");
    private static final EntityTypeName PROJECT = type("Project");
    private static final EntityTypeName MODEL = type("Model");
    private static final EntityTypeName DEPLOYMENT = type("Deployment");
    private static final EntityTypeName KEY = type("Key");
    private static final EntityTypeName DATASET = type("Dataset");
    private static final EntityTypeName TRAINING_JOB = type("TrainingJob");
    private static final EntityTypeName ACTION = type("Action");

    private final AuthorizationEngine engine = new BasicAuthorizationEngine();
    private final Schema schema;
    private final Set<Policy> builtIn;
    private volatile PolicySet policies;

    private Authorizer(Schema schema, Set<Policy> builtIn) {
        this.schema = schema;
        this.builtIn = Set.copyOf(builtIn);
        this.policies = prepared(this.builtIn);
    }

    /** The authorizer with the built-in policies only; fails when they do not validate against the schema. */
    public static Authorizer withBuiltInPolicies() {
        try {
            Schema schema = Schema.parse(Schema.JsonOrCedar.Cedar, resource("factory.cedarschema"));
            PolicySet parsed = PolicySet.parsePolicies(resource("builtin-policies.cedar"));
            Set<Policy> named = new HashSet<>();
            for (Policy p : parsed.policies) {
                String id = p.getAnnotation("id");
                named.add(new Policy(p.getSource(), "builtin:" + (id == null ? p.getID() : id)));
            }
            Authorizer authorizer = new Authorizer(schema, named);
            List<String> errors = authorizer.validationErrors(new PolicySet(named));
            if (!errors.isEmpty()) {
                throw new IllegalStateException("the built-in policies do not validate: " + String.join("; ", errors));
            }
            return authorizer;
        } catch (InternalException e) {
            throw new IllegalStateException("cannot read the built-in Cedar schema or policies: " + e.getMessage(), e);
        }
    }

    /** The schema site policies are checked against, in Cedar's schema syntax. */
    public static String schemaText() {
        return resource("factory.cedarschema");
    }

    /**
     * Checks a site policy file: it must parse, hold at least one policy, no templates, and validate against the
     * schema. INVALID_REQUEST with Cedar's messages otherwise.
     */
    public void validate(String source) {
        List<Policy> parsed = parse("check", source);
        List<String> errors = validationErrors(new PolicySet(Set.copyOf(parsed)));
        if (!errors.isEmpty()) {
            throw FactoryException.invalidParam("policy", "the policy does not validate against the factory's schema: "
                    + String.join("; ", errors));
        }
    }

    /** Replaces the site policies; each was validated when it was added. */
    public void useSitePolicies(List<SitePolicy> site) {
        Set<Policy> all = new HashSet<>(builtIn);
        for (SitePolicy s : site) {
            all.addAll(parse(s.id(), s.source()));
        }
        policies = prepared(all);
    }

    /**
     * A policy set parsed once on the engine's native side: without it every decision would ship and parse every
     * policy again (about 1 ms a decision instead of tens of microseconds).
     */
    private static PolicySet prepared(Set<Policy> policies) {
        PolicySet set = new PolicySet(Set.copyOf(policies));
        try {
            set.cache();
        } catch (CacheException e) {
            LOG.warn("the policy engine cannot keep the policies parsed; every decision parses them again: {}",
                    e.getMessage());
        }
        return set;
    }

    /**
     * Throws FORBIDDEN unless the principal may do the action on the project. Only for checks whose answer cannot
     * depend on whether something exists: the caller's own project (every route's check), or a project a request
     * names that is checked before anything is looked up. A model, deployment or key that was looked up is checked
     * with {@link #require(Principal, Action, Resource, Supplier)}.
     */
    public void require(Principal principal, Action action, Resource.Project project) {
        if (!isAllowed(principal, action, project)) {
            throw refused(principal, action, project);
        }
    }

    /**
     * Throws unless the principal may do the action on a resource that exists. A refusal about a resource the caller
     * may not even {@link #sees see} (another project's, not shared with the caller's) answers exactly as a missing
     * one: {@code asIfAbsent}'s error, which must be what the same request gets for a resource of that kind that does
     * not exist, marked as a denial for the audit ({@link FactoryException#asDenial()}). So a 403 never confirms that
     * another project's model, deployment or key exists. Any other refusal is FORBIDDEN: it names nothing the caller
     * may not know.
     */
    public void require(Principal principal, Action action, Resource resource, Supplier<FactoryException> asIfAbsent) {
        requireNonNull(asIfAbsent, "asIfAbsent is null");
        if (isAllowed(principal, action, resource)) {
            return;
        }
        FactoryException refused = refused(principal, action, resource);
        if (!sees(principal, resource)) {
            throw asIfAbsent.get().asDenial();
        }
        throw refused;
    }

    /**
     * Whether the caller may know that the resource exists: it lies in the caller's own project, or the caller may
     * read it (a model shared with every project; anything, for a site admin).
     */
    public boolean sees(Principal principal, Resource resource) {
        return resource.project().equals(principal.project()) || isAllowed(principal, readAction(resource), resource);
    }

    /** The action that reads a resource of this kind. */
    private static Action readAction(Resource resource) {
        return switch (resource) {
            case Resource.Project p -> Action.READ_PROJECTS;
            case Resource.Model m -> Action.READ_MODEL;
            case Resource.Deployment d -> Action.READ_DEPLOYMENT;
            case Resource.Key k -> Action.READ_KEYS;
            case Resource.Dataset d -> Action.READ_DATASET;
            case Resource.TrainingJob j -> Action.READ_TRAINING_JOB;
        };
    }

    /** Logs a refusal for the operator and returns it as the caller may read it. */
    private static FactoryException refused(Principal principal, Action action, Resource resource) {
        LOG.info("refused {} on {} to {} (role {}, project {})", action.id(), describe(resource), principal.id(),
                principal.role().id(), principal.project());
        // The caller by its name alone: a key's, or a person's or workload's signed in through the identity provider.
        return new FactoryException(ErrorCode.FORBIDDEN, "'" + principal.name() + "' (role " + principal.role().id()
                + ", project "
                + principal.project() + ") may not " + action.id() + " on " + describe(resource));
    }

    public boolean isAllowed(Principal principal, Action action, Resource resource) {
        requireNonNull(principal, "principal is null");
        requireNonNull(action, "action is null");
        requireNonNull(resource, "resource is null");
        Set<Entity> entities = new HashSet<>();
        Entity caller = new Entity(PRINCIPAL.of(principal.id()),
                Map.of("project", PROJECT.of(principal.project()), "role", new PrimString(principal.role().id())),
                Set.of(ROLE.of(principal.role().id()), PROJECT.of(principal.project())));
        entities.add(caller);
        entities.add(new Entity(ROLE.of(principal.role().id())));
        entities.add(new Entity(PROJECT.of(principal.project())));
        entities.add(new Entity(PROJECT.of(resource.project())));
        Entity target = entity(resource);
        entities.remove(target);
        entities.add(target);
        AuthorizationRequest request = new AuthorizationRequest(caller.getEUID(), ACTION.of(action.id()),
                target.getEUID(), Map.<String, Value>of());
        AuthorizationResponse response;
        try {
            response = engine.isAuthorized(request, policies, entities);
        } catch (AuthException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "the policy engine failed: " + e.getMessage(), e);
        }
        if (response.success.isEmpty()) {
            throw new FactoryException(ErrorCode.INTERNAL, "the policy engine failed: " + response.errors
                    .map(errs -> errs.stream().map(x -> x.message).collect(Collectors.joining("; "))).orElse("no answer"));
        }
        var success = response.success.get();
        if (!success.getErrors().isEmpty()) {
            // A policy that fails to evaluate is skipped by Cedar; say so, as a site policy may be at fault.
            LOG.warn("policy evaluation errors: {}", success.getErrors());
        }
        return success.isAllowed();
    }

    private static Entity entity(Resource resource) {
        EntityUID project = PROJECT.of(resource.project());
        return switch (resource) {
            case Resource.Project p -> new Entity(project);
            case Resource.Model m -> new Entity(MODEL.of(m.name()), Map.of("project", project,
                    "classification", new PrimString(m.classification()), "shared", new PrimBool(m.shared())),
                    Set.of(project));
            case Resource.Deployment d -> new Entity(DEPLOYMENT.of(d.id()), Map.of("project", project), Set.of(project));
            case Resource.Key k -> new Entity(KEY.of(k.id()), Map.of("project", project,
                    "role", new PrimString(k.role().id())), Set.of(project));
            case Resource.Dataset d -> new Entity(DATASET.of(d.name()), Map.of("project", project,
                    "classification", new PrimString(d.classification())), Set.of(project));
            case Resource.TrainingJob j -> new Entity(TRAINING_JOB.of(j.id()), Map.of("project", project),
                    Set.of(project));
        };
    }

    private static String describe(Resource resource) {
        return switch (resource) {
            case Resource.Project p -> "project '" + p.name() + "'";
            case Resource.Model m -> "model '" + m.name() + "' of project '" + m.project() + "'";
            case Resource.Deployment d -> "deployment '" + d.id() + "' of project '" + d.project() + "'";
            case Resource.Key k -> "a " + k.role().id() + " key of project '" + k.project() + "'";
            case Resource.Dataset d -> "dataset '" + d.name() + "' of project '" + d.project() + "'";
            case Resource.TrainingJob j -> "training job '" + j.id() + "' of project '" + j.project() + "'";
        };
    }

    /** The policies of one file, each with an id unique in the set: {@code FILEID#N}. */
    private static List<Policy> parse(String fileId, String source) {
        if (source == null || source.isBlank()) {
            throw FactoryException.invalidParam("policy", "the policy file is empty");
        }
        PolicySet set;
        try {
            set = PolicySet.parsePolicies(source);
        } catch (InternalException e) {
            throw FactoryException.invalidParam("policy", "the policy does not parse: " + cedarMessage(e));
        }
        if (set.getNumTemplates() > 0) {
            throw FactoryException.invalidParam("policy", "policy templates are not supported; write static policies");
        }
        if (set.policies.isEmpty()) {
            throw FactoryException.invalidParam("policy", "the file holds no policy");
        }
        List<Policy> sorted = set.policies.stream().sorted(Comparator.comparing(Policy::getID)).toList();
        List<Policy> out = new ArrayList<>();
        for (int i = 0; i < sorted.size(); i++) {
            out.add(new Policy(sorted.get(i).getSource(), fileId + "#" + i));
        }
        return out;
    }

    private List<String> validationErrors(PolicySet set) {
        ValidationResponse response;
        try {
            response = engine.validate(new ValidationRequest(schema, set));
        } catch (AuthException e) {
            throw FactoryException.invalidParam("policy", "the policy cannot be validated: " + cedarMessage(e));
        }
        if (response.validationPassed()) {
            return List.of();
        }
        if (response.success.isPresent() && !response.success.get().validationErrors.isEmpty()) {
            return response.success.get().validationErrors.stream().map(e -> message(e.getError())).toList();
        }
        return response.errors.map(errs -> errs.stream().map(Authorizer::message).toList())
                .orElse(List.of("the validator gave no reason"));
    }

    private static String message(DetailedError e) {
        return e.message + e.help.map(h -> " (" + h + ")").orElse("");
    }

    private static String cedarMessage(Exception e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m.strip();
    }

    private static EntityTypeName type(String name) {
        return EntityTypeName.parse(name).orElseThrow();
    }

    private static String resource(String name) {
        try (InputStream in = Authorizer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
