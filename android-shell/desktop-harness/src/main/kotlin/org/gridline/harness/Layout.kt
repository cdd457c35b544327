// Layout checks on what a screen shows: text cut off (ellipsis, clipped lines, past the screen's edge), text
// drawn over other text, touch targets under 48 dp, buttons without a name, icons without a description.
package org.gridline.harness

import androidx.compose.ui.semantics.Role
import androidx.compose.ui.semantics.SemanticsActions
import androidx.compose.ui.semantics.SemanticsNode
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.semantics.getOrNull
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SemanticsMatcher
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.onRoot
import androidx.compose.ui.text.TextLayoutResult

/** What [Layout] finds wrong with one node: the node's text or description and why. */
data class Finding(val what: String, val why: String) {
    override fun toString() = "\"$what\": $why"
}

@OptIn(ExperimentalTestApi::class)
object Layout {
    /** Every text node (unmerged tree) in tree order: the order a screen reader reads them. */
    fun texts(test: SkikoComposeUiTest): List<SemanticsNode> =
        test.onAllNodes(SemanticsMatcher.keyIsDefined(SemanticsProperties.Text), useUnmergedTree = true).fetchSemanticsNodes()

    /**
     * Text nodes in the order a screen reader reads them: the semantics tree depth first, siblings ordered by
     * their traversal index (the top bar's is -1, the tabs' 1, the rest 0), ties kept in tree order.
     */
    fun readingOrder(test: SkikoComposeUiTest): List<SemanticsNode> {
        val out = mutableListOf<SemanticsNode>()
        fun visit(node: SemanticsNode) {
            if (node.config.getOrNull(SemanticsProperties.Text) != null) out += node
            node.children.sortedBy { it.config.getOrNull(SemanticsProperties.TraversalIndex) ?: 0f }.forEach(::visit)
        }
        visit(test.onRoot(useUnmergedTree = true).fetchSemanticsNode())
        return out
    }

    private fun SemanticsNode.text(): String = config.getOrNull(SemanticsProperties.Text)?.joinToString(" ") { it.text } ?: ""

    private fun SemanticsNode.layout(): TextLayoutResult? {
        val results = mutableListOf<TextLayoutResult>()
        config.getOrNull(SemanticsActions.GetTextLayoutResult)?.action?.invoke(results)
        return results.firstOrNull()
    }

    /** Text that does not fit: cut by its own bounds (lines or ellipsis) or reaching past the screen's sides. */
    fun clippedTexts(test: SkikoComposeUiTest): List<Finding> {
        val root = test.onRoot().fetchSemanticsNode().boundsInRoot
        return texts(test).mapNotNull { node ->
            val layout = node.layout()
            val b = node.boundsInRoot
            when {
                // Not hasVisualOverflow: on the desktop its width half compares with the width the paragraph was
                // laid out at, not what its lines use; a line drawn past the text's own width is what is cut.
                layout != null && layout.didOverflowHeight -> Finding(node.text(), "cut off below line ${layout.lineCount}")
                layout != null && (0 until layout.lineCount).any { layout.getLineRight(it) > layout.size.width + 0.5f } ->
                    Finding(node.text(), "cut off at the right")
                layout != null && (0 until layout.lineCount).any { layout.isLineEllipsized(it) } -> Finding(node.text(), "ellipsized")
                b.width > 0f && (b.left < root.left - 0.5f || b.right > root.right + 0.5f) -> Finding(node.text(), "past the screen's edge $b")
                else -> null
            }
        }
    }

    /** Pairs of visible text nodes whose bounds overlap (text drawn over text). */
    fun overlappingTexts(test: SkikoComposeUiTest): List<Finding> {
        val root = test.onRoot().fetchSemanticsNode().boundsInRoot
        val visible = texts(test).filter { it.boundsInRoot.width > 0f && it.boundsInRoot.overlaps(root) }
        val out = mutableListOf<Finding>()
        for (i in visible.indices) for (j in i + 1 until visible.size) {
            val a = visible[i].boundsInRoot.deflate(0.5f)
            val b = visible[j].boundsInRoot.deflate(0.5f)
            if (a.overlaps(b) && !contains(visible[i], visible[j])) {
                out += Finding("${visible[i].text()} / ${visible[j].text()}", "overlap $a $b")
            }
        }
        return out
    }

    /** A text field's label and its input are one field, drawn on purpose inside each other. */
    private fun contains(a: SemanticsNode, b: SemanticsNode): Boolean {
        var p: SemanticsNode? = b.parent
        while (p != null) { if (p.id == a.id) return true; p = p.parent }
        p = a.parent
        while (p != null) { if (p.id == b.id) return true; p = p.parent }
        return false
    }

    /** Clickable nodes (merged tree) smaller than `minPx` in either dimension, or without a name to read. */
    fun touchTargets(test: SkikoComposeUiTest, minPx: Float): List<Finding> =
        test.onAllNodes(SemanticsMatcher.keyIsDefined(SemanticsActions.OnClick)).fetchSemanticsNodes().mapNotNull { node ->
            val name = node.config.getOrNull(SemanticsProperties.ContentDescription)?.joinToString(" ")
                ?: node.config.getOrNull(SemanticsProperties.Text)?.joinToString(" ") { it.text }
            // The laid-out size, not the bounds: a row half scrolled under the tabs is clipped, not small.
            val size = node.size
            when {
                name.isNullOrBlank() -> Finding("#${node.id}", "clickable without a name")
                size.width + 0.5f < minPx || size.height + 0.5f < minPx -> Finding(name, "touch target ${size.width}×${size.height} px")
                else -> null
            }
        }

    /** Icons (role Image) without a description. */
    fun undescribedIcons(test: SkikoComposeUiTest): List<Finding> =
        test.onAllNodes(SemanticsMatcher.expectValue(SemanticsProperties.Role, Role.Image), useUnmergedTree = true)
            .fetchSemanticsNodes()
            .filter { it.config.getOrNull(SemanticsProperties.ContentDescription).isNullOrEmpty() }
            .map { Finding("#${it.id}", "icon without a description") }
}
