"""Every sentence a user can read, in one place (Simplified Chinese, short and polite)."""

NOTHING_FOUND = "抱歉，没有找到相关内容。请换个说法再试，或发送 /speeches 查看讲话列表。"
PHRASE_COUNT = "“{phrase}”共出现在 {count} 个段落中。"
PHRASE_NOT_FOUND = "没有找到包含“{phrase}”的原文。"
PARAGRAPH = "第{n}段"
SOURCE_SEP = " · "
MORE_RESULTS = "更多结果"
FULL_TEXT = "查看全文"
NO_MORE = "没有更多结果了。"
EXPIRED = "这个按钮已过期，请重新提问。"
SPEECHES_HEADER = "共 {count} 篇讲话："
SPEECH_LINE = "{id}  {title}（{paragraphs}段）"
SPEECH_EVENT = "会议：{event}"
SPEECH_PLACE = "地点：{place}"
SPEECH_SOURCE = "来源：{source}"
SPEECH_PARAGRAPHS = "共 {count} 段"
SPEECH_OUTLINE = "提纲："
UNKNOWN_SPEECH = "没有找到编号为 {id} 的讲话，请发送 /speeches 查看编号。"
NO_SPEECHES = "语料库中还没有讲话。"
INDEX_REPORT = (
    "文件 {files} 个（新增 {added}，更新 {changed}，删除 {removed}，未变 {unchanged}）；"
    "讲话 {speeches} 篇，段落 {paragraphs} 段，疑似乱码段落 {damaged} 段；用时 {seconds:.1f} 秒。"
)
WARNINGS = "警告："
ANSWER_HEADER = "为您找到以下内容："
HELP = (
    "您好！我是工会代表大会讲话检索助手。\n\n"
    "直接发给我一个问题，我会从讲话稿中找出最相关的原文段落，并注明出处。\n\n"
    "示例：\n"
    "• 工会工作的立身之本是什么？\n"
    "• 劳动关系矛盾应该在哪里化解？\n"
    "• “识大体、顾大局”（加引号查原文出处）\n\n"
    "命令：\n"
    "/ask 问题 — 提问（群里使用）\n"
    "/find 短语 — 查找原文出现的位置\n"
    "/speeches — 讲话列表\n"
    "/speech 编号 — 某篇讲话的提纲\n\n"
    "在任何聊天中输入 @{username} 问题，可以直接引用原文。"
)
ASK_USAGE = "请在命令后写上问题，例如：/ask 工会工作的立身之本是什么？"
FIND_USAGE = "请在命令后写上要查找的短语，例如：/find 识大体、顾大局"
SPEECH_USAGE = "请在命令后写上讲话编号，例如：/speech {example}。发送 /speeches 查看编号。"
TEXT_ONLY = "目前只能回答文字问题，请用文字提问。"
TOO_LONG_QUESTION = "问题较长，只按前 {limit} 个字检索。"
ERROR = "抱歉，处理时出了点问题，请稍后再试。"
MORE_FOOTER = "第 {start}–{end} 条"
FULL_TEXT_HEADER = "【全文】"
PREVIOUS_PARAGRAPH = "（上一段）"
NEXT_PARAGRAPH = "（下一段）"
INLINE_NOTHING = "没有找到相关内容"
INLINE_HINT = "输入问题，引用讲话原文"
COMMANDS_PRIVATE = {
    "ask": "提问",
    "find": "查找原文出处",
    "speeches": "讲话列表",
    "speech": "讲话提纲",
    "help": "使用说明",
}
COMMANDS_GROUP = {
    "ask": "提问",
    "find": "查找原文出处",
    "speeches": "讲话列表",
    "help": "使用说明",
}
