package ai.factory.cli;

import ai.factory.api.codec.admin.ProjectWire;
import ai.factory.api.codec.admin.ProjectWire.CreateProject;
import ai.factory.api.codec.admin.ProjectWire.DeletedProject;
import ai.factory.api.codec.admin.ProjectWire.KeyRotation;
import ai.factory.api.codec.admin.ProjectWire.NoBody;
import ai.factory.api.codec.admin.ProjectWire.ProjectList;
import ai.factory.api.codec.admin.ProjectWire.UpdateProject;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory projects …}: projects (tenants); site admins only. */
@Command(name = "projects", mixinStandardHelpOptions = true,
        description = "Create, list and delete projects, which own models, deployments and keys (admin only).")
final class ProjectsCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Create.class, ListProjects.class, Delete.class, RotateKey.class,
            Settings.class);

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a project.")
    static final class Create implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "NAME", description = "1-63 lowercase letters, digits or -.")
        String name;

        @Override
        public Integer call() {
            ProjectWire.Project p = client.client().post("/api/v1/projects", new CreateProject(name),
                    ProjectWire.Project.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, p);
            } else {
                out.println("Created project " + p.name());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the projects.")
    static final class ListProjects implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            ProjectList result = client.client().get("/api/v1/projects", ProjectList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            Table table = new Table("NAME", "CREATED", "CREATED BY", "CONTENT LOGGING");
            for (ProjectWire.Project p : result.projects()) {
                table.row(p.name(), String.valueOf(p.createdAt()), String.valueOf(p.createdBy()),
                        p.contentLogging() ? "on" : "off");
            }
            table.print(out);
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete a project: undeploys its deployments, revokes its keys, deletes its models and "
                    + "destroys its encryption keys (its blobs can never be decrypted again).")
    static final class Delete implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            DeletedProject d = client.client().delete(projectPath(name), DeletedProject.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, d);
            } else {
                out.printf("Deleted project %s: %d deployment(s) undeployed, %d key(s) revoked, %d model(s) deleted, "
                                + "its encryption keys destroyed%n",
                        d.name(), d.undeployed().size(), d.keysRevoked(), d.modelsDeleted().size());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "rotate-key", mixinStandardHelpOptions = true,
            description = "Give a project a fresh key-encryption key: its data keys are re-wrapped under it, no data is "
                    + "re-encrypted, and the old key is gone (admin only).")
    static final class RotateKey implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            KeyRotation r = client.client().post(projectPath(name) + "/rotate-key", new NoBody(), KeyRotation.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, r);
            } else {
                out.printf("Rotated the key of project %s: version %d -> %d, %d data key(s) re-wrapped%n",
                        r.project(), r.previousVersion(), r.version(), r.dataKeysRewrapped());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "set", mixinStandardHelpOptions = true,
            description = "Change a project's settings (admin only). With --content-logging on, the text of every "
                    + "inference call of the project's keys (request and output) is kept, encrypted under the "
                    + "project's key, for its auditors ('factory audit content'); off by default.")
    static final class Settings implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--content-logging", paramLabel = "on|off",
                description = "Keep the text of the project's inference calls: on or off.")
        @org.jspecify.annotations.Nullable String contentLogging;

        @Option(names = "--signature-policy", paramLabel = "off|warn|require|site",
                description = "The project's own model-signature policy, replacing the site's for its models (a "
                        + "classification's policy still replaces it); site: the site's applies again.")
        @org.jspecify.annotations.Nullable String signaturePolicy;

        @Option(names = "--trusted-signers", paramLabel = "PEM|site", description = "The signers the project trusts "
                + "in place of the site's: a PEM file of public keys and certificate authorities; site: the site's "
                + "apply again.")
        @org.jspecify.annotations.Nullable String trustedSigners;

        @Override
        public Integer call() {
            if (contentLogging == null && signaturePolicy == null && trustedSigners == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "name a setting: --content-logging, "
                        + "--signature-policy or --trusted-signers");
            }
            String signers = null;
            if (trustedSigners != null) {
                try {
                    signers = trustedSigners.equals("site") ? "site"
                            : java.nio.file.Files.readString(java.nio.file.Path.of(trustedSigners));
                } catch (java.io.IOException e) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--trusted-signers: cannot read "
                            + trustedSigners + ": " + e.getMessage());
                }
            }
            Boolean on = contentLogging == null ? null : switch (contentLogging) {
                case "on" -> true;
                case "off" -> false;
                default -> throw new CommandLine.ParameterException(spec.commandLine(),
                        "--content-logging takes on or off, not '" + contentLogging + "'");
            };
            ProjectWire.Project p = client.client().patch(projectPath(name), new UpdateProject(on, signaturePolicy, signers),
                    ProjectWire.Project.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, p);
            } else {
                out.printf("Content logging of project %s is %s; its model-signature policy is %s, trusting %s%n",
                        p.name(), p.contentLogging() ? "on" : "off", p.signaturePolicy() == null ? "the site's"
                                : p.signaturePolicy(), p.trustedSigners() == null ? "the site's signers"
                                : "its own signers (" + p.trustedSigners() + ")");
                out.flush();
            }
            return 0;
        }
    }

    /** The API path of the project named {@code name}, the name encoded as one path segment. */
    private static String projectPath(String name) {
        return "/api/v1/projects/" + URLEncoder.encode(name, StandardCharsets.UTF_8);
    }
}
