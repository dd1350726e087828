// The search page `peft serve` answers at "/": one self-contained HTML file
// (inline CSS and JavaScript, nothing fetched from the network) with a query
// box, the vector/BM25/hybrid switch and the result list. Document text
// reaches the page only through textContent and text nodes, never as HTML,
// so a document holding markup shows it as text. The page reads ?q= and
// ?mode= on load and searches at once, so a search has a shareable address.
#pragma once
#include <string>

namespace peft::search {

const std::string& search_page_html();

}  // namespace peft::search
