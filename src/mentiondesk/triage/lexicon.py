"""Cue words: what a community team reads a post for, as features that fire for any company.

A few hundred labelled posts cannot teach a model every way to say "it's down" or "please
add"; these lists can. Each phrase that occurs in a post adds the feature `=<cue>` (once per
occurrence); the model learns from the data how much each cue counts, for every intent and
sentiment, so a cue is evidence, never a rule ("love" is also sarcasm). Phrases are matched
on the scorer's tokens (so "doesn't work" is written as it tokenizes: doesn t work), up to
three words; `SUBSTRINGS` are for scripts written without spaces (Japanese).

Changing anything here changes the features: retrain (`make triage-model`).
The scorer refuses a model trained on other cue lists."""

from __future__ import annotations

CUES: dict[str, str] = {
    # The hosted service is down or degraded.
    "down": """
        down|outage|outages|offline|unreachable|unavailable|degraded|incident|incidents
        just me|is it down|is it just|anyone else|for everyone|whole team|whole org|our team
        500|502|503|504|5xx|bad gateway|gateway timeout|server error|something went wrong
        timing out|timed out|timeout|timeouts|hangs|hanging|spinning|spins|not loading
        won t load|doesn t load|won t open|can t access|cannot access|can t log|cannot reach
        slow|slower|sluggish|crawling|lagging|stuck|pending|queue|queued|delayed|unusable
        back up|any eta|eta|status page|status|resolved|all clear|maintenance|read only
        caído|caido|caída|cayó|panne|hors service|störung|ausfall|caiu|fora do ar|lento
        lenta|lent|langsam|travados|incidencia|problemas
        """,
    # Spam, phishing, impersonation, malware, abuse of the platform.
    "spam": """
        spam|spams|spammer|spammers|spamming|spammed|phishing|phish|scam|scams|scammer
        scammers|fake|impersonating|impersonation|impersonates|malware|malicious|backdoor
        bot|bots|abuse|abusing|harass|harassing|casino|crypto|betting|gambling|giveaway
        airdrop|link farms|seo|junk|flooding|ban|report this|take it down|typosquatting
        cuenta falsa|conta falsa|estafa|golpe|arnaque|betrug|apuestas|apostas
        """,
    # Something in the product behaves wrongly.
    "bug": """
        bug|bugs|buggy|broken|broke|breaks|doesn t work|does not work|not working
        isn t working|stopped working|no longer|wrong|incorrect|instead of|instead
        regression|after the update|after upgrading|after the upgrade|since the update
        since the last|since version|upgraded|crash|crashes|crashing|segfault|glitch
        fails|failing|throws|twice|duplicate|duplicates|missing|ignores|ignored|resets
        reset|loses|lost|off by|repro|reproduce|expected|corrupts|mojibake|400|404
        fehler|funktioniert nicht|no funciona|no hace nada|ne fonctionne pas|reste grisé
        não funciona|pararam|rotos|quebrado|cassé
        """,
    # A wish for the product, including wishes phrased as complaints.
    "wish": """
        please add|add support|would love|would be nice|would be great|would be awesome
        it would be|it d be|would help|wish|wishlist|wish list|feature request|feature idea
        feature suggestion|suggestion|idea|any plans|plans to|plan to|roadmap|could you add
        can you add|can we get|can we have|can we please|please let|let us|let me|allow
        support for|option to|a way to|why can t|is there no|still no|no way to|+1
        please bring|bring back|i d pay|how about|consider|would you consider|please make
        please support|missing feature|only thing missing|give us|any chance|make it
        sería genial|añadir|tienen pensado|wäre super|wäre toll|bitte einen|ce serait
        serait top|vous prévoyez|prévoyez|seria ótimo|poderiam adicionar|gostaria
        """,
    # A how-to or account question.
    "how": """
        how do i|how can i|how to|how do we|how can we|how do|there a way|is there
        is it possible|possible to|where do i|where can i|where is|where are|what s the
        what is the|which|can i|do i need|do you have|does the|do the|any way to|help me
        question|quick q|quick question|docs|documentation|configure|setup|set up|invoice
        billing|charged|account|password|2fa|recover|restore|migrate|upgrade to|limit
        cómo|como faço|como eu|wie kann|wie lösche|wie|comment|est il possible|pregunta
        frage|dúvida
        """,
    # Thanks and praise (and sarcasm: the model weighs it with the rest).
    "love": """
        love|loving|loved|thanks|thank|thank you|thx|ty|great|awesome|amazing|brilliant
        excellent|fantastic|best|kudos|shoutout|shout out|impressed|props|bravo|congrats
        congratulations|well done|great work|great job|rock|rocks|delightful|beautiful
        game changer|magic|wow|perfect|perfectly|smooth|fast|faster|snappy|favorite
        appreciate|appreciated|respect|hats off|joy|happy|cheers|10 10|💯|❤|❤️|💜|💚
        💙|🖤|🙏|🙌|👏|😍|🥹|🚀|✨|🥳|👍|gracias|me encanta|danke|vielen dank|großartiger
        merci|j adore|adoro|obrigado|obrigada|valeu|adorei|genial|super
        """,
    # Everything a desk hears that is not about the product: jobs, events, swag, marketing.
    "misc": """
        hiring|job|jobs|internship|intern|career|careers|conference|keynote|meetup|talk
        podcast|swag|sticker|stickers|hoodie|merch|logo|office|ceo|cto|marketing|ads
        sponsor|sponsoring|event|hackathon|newsletter|interview|journalist|press|partner
        affiliate|referral|follow me|follow back|happy friday|happy new year|mascot|book
        blog post|thesis|slides|booth|livestream|ad|video|employees|discord|mastodon
        trabajo|vaga|estágio|evento|conferencia|recrutez|recrutement|jobs|praktikum
        """,
    # Anger, frustration and sarcasm markers.
    "angry": """
        again|seriously|ridiculous|annoying|frustrating|terrible|awful|worst|hate|come on
        sigh|ugh|wtf|lmao|unacceptable|disappointing|really|still|every time|third|3rd
        😡|😤|🙄|😩|😭|🙃|😑|💀|🫠|😬|😒|😠|🤬|👎|🔥
        """,
}

# Scripts without spaces between words: plain substring tests.
SUBSTRINGS: dict[str, tuple[str, ...]] = {
    "down": ("落ち", "障害", "繋がらない", "つながらない", "アクセスできません", "遅い", "遅く"),
    "spam": ("スパム", "詐欺", "なりすまし"),
    "bug": ("バグ", "できません", "表示されない", "戻ります", "動きません"),
    "wish": ("欲しい", "ほしい", "追加して", "対応して"),
    "how": ("方法", "どうやって", "教えて", "ですか", "どこ"),
    "love": ("ありがとう", "感謝", "助かり", "便利", "使いやすい"),
    "misc": ("イベント", "ステッカー", "採用"),
}

# The commonest short words of English and of the other languages the corpora's posts use
# most (Spanish, French, German, Portuguese, Italian, Dutch, Indonesian, Turkish): a post
# whose known words are mostly not English is scored, but its label is only a suggestion
# (model.english_unlikely).
_ENGLISH = """
    the a an and or but is are was were be been am i you he she it we they me my your our
    their this that these those to of in on at for with from by about as not no do does did
    have has had can could will would should just so if what why how when where who there
    here all any some get got out up down again still please thanks thank hi hello yes
"""
_OTHER_LANGUAGES = """
    el la los las un una unos y o pero es son fue ser estoy está esta mi mis tu su sus
    nuestro que porque por para con sin del al lo le se ya muy más pues hola gracias como
    qué cuando donde hay tengo todo nada le les des et ou mais est sont été je tu il elle
    nous vous ils mon ma mes ton ta votre vos qui pour avec sans dans sur pas plus très
    bonjour merci c j n d qu ce cette ça der die das ein eine und oder aber ist sind war
    ich du er sie wir ihr mein meine nicht kein mit ohne für auf bei noch schon auch danke
    hallo wie warum os as um uma e mas são foi eu ele ela nós meu minha seu sua não com
    sem muito obrigado obrigada olá oi também il lo gli di da che per non sono ho het een
    en van niet ik je dat saya tidak dan yang ini itu bir ve bu çok ne
"""
ENGLISH_WORDS = frozenset(_ENGLISH.split())
OTHER_LANGUAGE_WORDS = frozenset(_OTHER_LANGUAGES.split())
