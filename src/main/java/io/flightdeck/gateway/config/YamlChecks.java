package io.flightdeck.gateway.config;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Checks on the operator's file as YAML nodes, before it is turned into values: what SnakeYAML (and so vertx-config)
 * would read without a word into something the operator did not write.
 *
 * <p>SnakeYAML reads YAML 1.1, where a plain number with a leading zero is octal ({@code heartbeatSeconds: 010} is 8)
 * and one with colons is base 60 ({@code retryMs: 1:30} is 90): every check downstream then sees a valid number
 * nobody wrote. Such a number is refused, naming its key; quoted, it is text, which the gateway reads as decimal.
 * An alias inside its own anchor ({@code sites: &s [*s]}) makes a value that holds itself, on which copying the
 * configuration ended in a StackOverflowError instead of a line naming the file.
 */
final class YamlChecks {

  /** YAML 1.1's octal integers: a leading 0 and more octal digits (0 alone, 0x.. and 0b.. are not). */
  private static final Pattern OCTAL = Pattern.compile("[-+]?0[0-7_]+");

  private YamlChecks() {
  }

  /** Walks {@code root} (null for a file without a document); {@code file} names the file in a message. */
  static void check(Node root, String file) {
    if (root != null) {
      walk(root, "", Collections.newSetFromMap(new IdentityHashMap<>()), file);
    }
  }

  private static void walk(Node node, String key, Set<Node> open, String file) {
    if (node instanceof ScalarNode scalar) {
      checkNumber(scalar, key);
      return;
    }
    if (!open.add(node)) {
      throw new ConfigException(file, "cannot be read as YAML: " + (key.isEmpty() ? "the document" : key)
          + " refers to its own anchor &" + node.getAnchor() + " (a value that holds itself)");
    }
    if (node instanceof MappingNode mapping) {
      for (NodeTuple tuple : mapping.getValue()) {
        String field = tuple.getKeyNode() instanceof ScalarNode name ? name.getValue() : "?";
        walk(tuple.getValueNode(), key.isEmpty() ? field : key + "." + field, open, file);
      }
    } else if (node instanceof SequenceNode sequence) {
      List<Node> items = sequence.getValue();
      for (int i = 0; i < items.size(); i++) {
        walk(items.get(i), key + "[" + i + "]", open, file);
      }
    }
    open.remove(node);
  }

  private static void checkNumber(ScalarNode scalar, String key) {
    if (scalar.getScalarStyle() != DumperOptions.ScalarStyle.PLAIN) {
      return; // quoted: text, read as written
    }
    String text = scalar.getValue();
    boolean integer = Tag.INT.equals(scalar.getTag());
    if (integer && OCTAL.matcher(text).matches()) {
      BigInteger value = new BigInteger(text.replace("_", ""), 8);
      throw new ConfigException(key, "'" + text + "' is read by YAML as the octal number " + value
          + ": write the number without its leading zero (or quote it, if it is text such as a token)");
    }
    if ((integer || Tag.FLOAT.equals(scalar.getTag())) && text.contains(":")) {
      throw new ConfigException(key, "'" + text + "' is read by YAML as the base-60 number " + base60(text)
          + ": write the number itself (or quote it, if it is text)");
    }
  }

  /** YAML 1.1's base-60 value of {@code text} (such as 1:30 or -1:30.5), as SnakeYAML reads it. */
  private static String base60(String text) {
    String digits = text.replace("_", "");
    boolean negative = digits.startsWith("-");
    BigDecimal value = BigDecimal.ZERO;
    for (String part : digits.replaceFirst("^[-+]", "").split(":")) {
      value = value.multiply(BigDecimal.valueOf(60)).add(new BigDecimal(part));
    }
    return (negative ? value.negate() : value).toPlainString();
  }
}
