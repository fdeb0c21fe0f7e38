package ai.factory.engine.chat;

import org.jspecify.annotations.Nullable;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.TextStyle;
import java.util.Locale;

/**
 * Python's {@code datetime.strftime} in the C locale, for the directives chat templates use ("%d %b %Y",
 * "%Y-%m-%d"). Jinjava has a formatter of its own, but it reads a format without '%' as a Java pattern and
 * fails on directives it does not know; Python copies both through, and so does this.
 */
final class Strftime {
    private Strftime() {}

    static String format(ZonedDateTime time, String format) {
        StringBuilder out = new StringBuilder(format.length() + 16);
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char directive = format.charAt(++i);
            boolean unpadded = directive == '-' && i + 1 < format.length();
            if (unpadded) {
                directive = format.charAt(++i);
            }
            String value = directive(time, directive);
            if (value == null) {
                out.append('%').append(unpadded ? "-" : "").append(directive);
            } else {
                out.append(unpadded ? stripLeadingZeros(value) : value);
            }
        }
        return out.toString();
    }

    private static @Nullable String directive(ZonedDateTime time, char directive) {
        return switch (directive) {
            case 'a' -> time.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'A' -> time.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            case 'b', 'h' -> time.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'B' -> time.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            case 'd' -> twoDigits(time.getDayOfMonth());
            case 'e' -> String.format(Locale.ROOT, "%2d", time.getDayOfMonth());
            case 'H' -> twoDigits(time.getHour());
            case 'I' -> twoDigits(time.getHour() % 12 == 0 ? 12 : time.getHour() % 12);
            case 'j' -> String.format(Locale.ROOT, "%03d", time.getDayOfYear());
            case 'm' -> twoDigits(time.getMonthValue());
            case 'M' -> twoDigits(time.getMinute());
            case 'p' -> time.getHour() < 12 ? "AM" : "PM";
            case 'S' -> twoDigits(time.getSecond());
            case 'y' -> twoDigits(time.getYear() % 100);
            case 'Y' -> Integer.toString(time.getYear());
            case 'z' -> DateTimeFormatter.ofPattern("xx", Locale.ROOT).format(time);
            case 'Z' -> time.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'F' -> time.toLocalDate().toString();
            case '%' -> "%";
            default -> null;
        };
    }

    private static String twoDigits(int value) {
        return value < 10 ? "0" + value : Integer.toString(value);
    }

    private static String stripLeadingZeros(String value) {
        String stripped = value.strip().replaceFirst("^0+(?=\\d)", "");
        return stripped.isEmpty() ? value : stripped;
    }
}
