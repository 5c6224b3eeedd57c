// Accessibility checks run inside the page: every control has a label, and every visible text
// has WCAG AA contrast against the background it is drawn on (4.5:1, or 3:1 for large text).

/** Form controls without an accessible name (a <label>, aria-label or aria-labelledby). */
export function unlabelledControls(page) {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((control) => control.type !== 'hidden' && control.getClientRects().length)
    .filter((control) => !(control.labels && control.labels.length)
      && !control.getAttribute('aria-label') && !control.getAttribute('aria-labelledby')
      && !(control.tagName === 'BUTTON' && control.textContent.trim()))
    .map((control) => control.outerHTML.slice(0, 80)));
}

/** Texts whose contrast is below WCAG AA, as "TAG "text": ratio". */
export function lowContrastTexts(page) {
  return page.evaluate(() => {
    const rgb = (text) => {
      const parts = (text.match(/rgba?\(([^)]+)\)/) || [])[1];
      if (!parts) return null;
      const [r, g, b, a = 1] = parts.split(/[\s,/]+/).filter(Boolean).map(Number);
      return {r, g, b, a};
    };
    const luminance = ({r, g, b}) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const backdrop = (node) => {
      for (let at = node; at; at = at.parentElement) {
        const colour = rgb(getComputedStyle(at).backgroundColor);
        if (colour && colour.a > 0.5) return colour;
      }
      return {r: 255, g: 255, b: 255};
    };
    const found = [];
    const seen = new Set();
    const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (texts.nextNode()) {
      const node = texts.currentNode.parentElement;
      const text = texts.currentNode.textContent.trim();
      if (!text || seen.has(node) || !node.getClientRects().length
          || node.closest('.sr-only, noscript, option, title')) continue;
      seen.add(node);
      const style = getComputedStyle(node);
      const ink = rgb(node instanceof SVGElement ? style.fill : style.color);
      if (!ink) continue;
      const [light, dark] = [luminance(ink), luminance(backdrop(node))].sort((x, y) => y - x);
      const ratio = (light + 0.05) / (dark + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) found.push(`${node.tagName} "${text.slice(0, 30)}": ${ratio.toFixed(2)}`);
    }
    return found;
  });
}
