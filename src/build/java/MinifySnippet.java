import com.google.javascript.jscomp.CompilationLevel;
import com.google.javascript.jscomp.Compiler;
import com.google.javascript.jscomp.CompilerOptions;
import com.google.javascript.jscomp.CompilerOptions.LanguageMode;
import com.google.javascript.jscomp.JSError;
import com.google.javascript.jscomp.Result;
import com.google.javascript.jscomp.SourceFile;
import com.google.javascript.jscomp.WarningLevel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Build-time only (pom.xml runs it with {@code java MinifySnippet.java} in process-resources, Closure Compiler a
 * plugin dependency: neither is in the jar). Minifies the readable tracking snippet, {@code fd.js}, into the
 * {@code fd.min.js} the gateway serves (docs/SNIPPET.md): Closure Compiler's SIMPLE_OPTIMIZATIONS (locals renamed,
 * comments and whitespace gone, properties never renamed), the source's own language out (nothing transpiled,
 * no polyfill or runtime library added).
 *
 * <p>Kept from the source where Closure would change it: the first line's {@code /*! ... *}{@code /} comment as it
 * is (Closure rewrites it as {@code /*\n ... *}{@code /}, which other minifiers no longer keep), and the IIFE's
 * {@code 'use strict'} (Closure assumes strict code and drops the directive; at the top of the file instead it
 * would make a bundle the file is concatenated into strict, or not apply at all). Constant folding is off: it
 * made {@code { submit() { ... } }.submit} a plain function, with a prototype and no name (SnippetBrowserIT).
 *
 * <p>Exits 1, failing the build, on any compiler error or warning, or an output that is not the one IIFE the
 * source is or holds anything Closure injected ({@code $jscomp}).
 */
public final class MinifySnippet {

  private static final String IIFE_START = "(()=>{";
  private static final String IIFE_END = "})();";

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      fail("usage: java MinifySnippet.java <fd.js> <fd.min.js>");
    }
    Path in = Path.of(args[0]);
    Path out = Path.of(args[1]);
    String source = Files.readString(in, StandardCharsets.UTF_8);
    int eol = source.indexOf('\n');
    String header = eol < 0 ? "" : source.substring(0, eol);
    if (!header.startsWith("/*!") || !header.endsWith("*/")) {
      fail(in + ": the first line must be the /*! ... */ header comment");
    }
    // the header left out (its line kept empty, so the compiler's line numbers are the file's)
    SourceFile input = SourceFile.fromCode(in.toString(), source.substring(eol));

    CompilerOptions options = new CompilerOptions();
    CompilationLevel.SIMPLE_OPTIMIZATIONS.setOptionsForCompilationLevel(options);
    WarningLevel.DEFAULT.setOptionsForWarningLevel(options);
    // the language docs/SNIPPET.md promises: newer syntax in the source is an error here
    options.setLanguageIn(LanguageMode.ECMASCRIPT_2017);
    options.setLanguageOut(LanguageMode.NO_TRANSPILE);
    options.setRewritePolyfills(false);
    options.setPreventLibraryInjection(true);
    options.setEmitUseStrict(false);
    options.setFoldConstants(false);

    Compiler compiler = new Compiler(System.err);
    Result result = compiler.compile(List.of(), List.of(input), options);
    for (JSError e : result.errors) {
      System.err.println("ERROR " + e);
    }
    for (JSError w : result.warnings) {
      System.err.println("WARNING " + w);
    }
    if (!result.success || !result.errors.isEmpty() || !result.warnings.isEmpty()) {
      fail(in + ": Closure Compiler reported " + result.errors.size() + " error(s) and " + result.warnings.size()
          + " warning(s)");
    }
    String code = compiler.toSource().strip();
    if (!code.startsWith(IIFE_START) || !code.endsWith(IIFE_END)) {
      fail(in + ": the minified script is not one arrow-function IIFE as the source is: "
          + code.substring(0, Math.min(80, code.length())));
    }
    if (code.contains("$jscomp")) {
      fail(in + ": Closure Compiler injected code of its own ($jscomp)");
    }
    code = IIFE_START + "'use strict';" + code.substring(IIFE_START.length());
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, header + '\n' + code + '\n', StandardCharsets.UTF_8);
    System.out.println("minified " + in + " (" + source.length() + " chars) into " + out + " (" + code.length()
        + " chars)");
  }

  private static void fail(String message) {
    System.err.println(message);
    System.exit(1);
  }
}
