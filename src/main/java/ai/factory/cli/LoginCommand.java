package ai.factory.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/**
 * {@code factory login}: signs a person in through the site's identity provider by the device authorization grant
 * (open the page shown, anywhere, and confirm the code), and keeps the tokens ({@link Logins}) so that the other
 * commands act as that person, with the project and role the provider's groups give them, instead of with a key.
 */
@Command(name = "login", mixinStandardHelpOptions = true,
        description = "Sign in as yourself through the site's identity provider: open the page shown (on any device) "
                + "and confirm the code. The other commands then act as you, with the project and role your groups "
                + "give you, until 'factory logout' (a key given with --key or FACTORY_API_KEY still comes first).")
final class LoginCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin FactoryAddress address;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        String resolved = address.url();
        @Nullable SSLContext tls = address.trust(resolved);
        JsonNode cli;
        try (FactoryClient anonymous = new FactoryClient(resolved, "", tls)) {
            cli = anonymous.get("/auth/cli");
        }
        Logins logins = new Logins(Logins.defaultFile(), tls);
        Logins.Login login = logins.signIn(resolved, cli, prompt -> {
            out.println("To sign in to " + Logins.key(resolved) + ", open");
            out.println("  " + (prompt.verificationUriComplete() != null ? prompt.verificationUriComplete()
                    : prompt.verificationUri()));
            out.println("and confirm the code " + prompt.userCode() + " (within " + prompt.expiresIn().toMinutes()
                    + " minutes). Waiting...");
            out.flush();
        });
        try (FactoryClient signedIn = new FactoryClient(resolved, login.accessToken(), tls)) {
            // Kept only once the factory takes the token (its audience, and a role for the person's groups).
            JsonNode me = signedIn.get("/api/v1/me");
            logins.save(resolved, login);
            out.println("Signed in to " + Logins.key(resolved) + " as " + me.path("name").asText() + ": "
                    + me.path("role").asText() + " in project " + me.path("project").asText() + ". The sign-in "
                    + (login.refreshToken() != null ? "renews itself" : "lasts until "
                    + DateTimeFormatter.ISO_LOCAL_TIME.withZone(ZoneId.systemDefault()).format(login.expiresAt()))
                    + "; 'factory logout' ends it.");
        }
        return 0;
    }
}
