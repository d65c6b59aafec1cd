"""Every sentence a user can read, in one place (Simplified Chinese, short and polite)."""

NOTHING_FOUND = "抱歉，没有找到相关内容。请换个说法再试，或发送 /speeches 查看讲话列表。"
CLOSEST_SPEECH = (
    "与您的问题最接近的是《{title}》，可发送 /speech {id} 查看提纲；也可以试试更短的关键词。"
)
RELATED_MARK = "（可能相关）"
RELATED_HEADER = "没有找到直接回答这个问题的段落，以下内容可能相关："
CORRECTED = "已按“{meant}”查找（您输入的是“{typed}”）。"
NOT_CHINESE = "目前只能回答中文问题，请用中文提问，例如：工会工作的立身之本是什么？"
NO_EARLIER_QUESTION = "请先提一个问题，再发送“还有吗”查看更多结果。"
PHRASE_COUNT = "“{phrase}”共出现在 {count} 个段落中。"
PHRASE_NOT_FOUND = "没有找到包含“{phrase}”的原文。"
MISQUOTE_HEADER = "没有找到与“{phrase}”一字不差的原文，以下段落与之最接近："
PARAGRAPH = "第{n}段"
SOURCE_SEP = " · "
MORE_RESULTS = "更多结果"
PREVIOUS_PAGE = "上一页"
NEXT_PAGE = "下一页"
PAGE_SPAN = "第{first}–{last}条"
PAGE_ONE = "第{n}条"
PAGE_OF = "{where} / 共{total}条"
FULL_TEXT = "查看全文"
NO_MORE = "没有更多结果了。"
EXPIRED = "这个按钮已过期，请重新提问。"
SPEECHES_HEADER = "共 {count} 篇讲话："
SPEECH_LINE = "{id}  {title}（{paragraphs}段）"
SPEECH_EVENT = "会议：{event}"
SPEECH_SOURCE = "来源：{source}"
SPEECH_PARAGRAPHS = "共 {count} 段"
SPEECH_OUTLINE = "提纲："
SPEECH_GIST = "各段要点："
SPEECH_FACTS = "地点：{place} · 日期：{date} · 讲话人：{speaker} · {paragraphs}段"
NOT_GIVEN = "未注明"
OPEN_OUTLINE = "提纲 {n}"
OPEN_SECTION = "第{n}部分"
PARAGRAPHS = "第{first}–{last}段"
UNKNOWN_SPEECH = "没有找到“{id}”对应的讲话，请发送 /speeches 查看讲话列表和编号。"
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
SPEECH_USAGE = "请在命令后写上讲话编号或地名，例如：/speech {example} 或 /speech 滨州。"
TEXT_ONLY = "目前只能回答文字问题，请用文字提问。"
ERROR = "抱歉，处理时出了点问题，请稍后再试。"
FULL_TEXT_HEADER = "【全文】"
PREVIOUS_PARAGRAPH = "上一段"
NEXT_PARAGRAPH = "下一段"
READING_AT = "第{n}段 / 共{count}段"
CITE = "引用格式"
CITE_SHORT = "引用"
DAMAGED = "【原文此处有乱码】"
DAMAGE_SUMMARY = "乱码：按语料库中其他段落的原文修复 {mended} 处，仍标记为乱码 {marked} 处。"
DAMAGE_MENDED = "- {id} 第{n}段：“{garbled}”→“{text}”"
CITATION = "引用格式（可直接复制）："
INLINE_NOTHING = "没有找到相关内容"
INLINE_HINT = "输入问题，引用讲话原文"
COMMANDS = {
    "ask": "提问",
    "find": "查找原文出处",
    "speeches": "讲话列表",
    "speech": "讲话提纲",
    "help": "使用说明",
}
UNKNOWN_COMMAND = "没有这个命令。发送 /help 查看可用的命令。"
ADMIN_PRIVATE_ONLY = "管理命令请在与我的私聊中使用。"
NOT_ADMIN = "抱歉，您没有权限执行这个操作。"
RELOAD_STARTED = "正在重新加载语料库，期间照常回答问题……"
RELOAD_DONE = "重新加载完成。"
RELOAD_FAILED = "重新加载失败，仍在使用原来的语料库。原因：{reason}"
RELOAD_FILES = "新增：{added}\n更新：{changed}\n删除：{removed}"
NONE = "无"
UPLOAD_BAD_TYPE = "不支持这种文件（{suffix}），请上传 .txt、.md 或 .docx 文件。"
UPLOAD_TOO_BIG = "文件太大，上限为 {limit}。"
UPLOAD_NAME_TAKEN = "同名文件太多，请改名后再上传。"
UPLOAD_REJECTED = "文件未收录：{reason}。"
UPLOAD_DONE = "已收录文件 {name}。"
DISK_FULL = "磁盘空间不足，操作未执行，语料库没有变化。请联系维护人员清理磁盘。"
UPLOAD_FAILED = "文件未能收录，语料库没有变化。请稍后再试，或联系维护人员查看日志。"
UPLOAD_SPEECH = "讲话：{id}  {title}"
REPLACE_HINT = "如需覆盖同名文件，请在发送文件时附上说明文字 /replace。"
REMOVE_USAGE = "请写上讲话编号，例如：/remove 1a2b3c4d。"
REMOVE_DONE = "已将文件 {source} 移入回收站（可恢复）。"
STATS = (
    "今日提问：{today}\n近 7 天提问：{week}\n近 7 天提问人数：{askers}\n"
    "未找到答案的比例：{share:.0%}\n回答时间中位数：{median:.0f} 毫秒"
)
STATS_TOP = "最常见的问题："
STATS_UNLOGGED = "另有 {n} 个问题已回答但未能记录（磁盘已满或日志无法写入），不在以上统计中。"
STATS_VOTES = "近 7 天评价：{votes} 次，其中“没用”占 {share:.0%}"
STATS_USELESS = "最常被评为“没用”的问题："
USEFUL = "有用"
USELESS = "没用"
THANKS = "谢谢您的评价！"
TYPED_BUTTONS = "（按钮：{commands}）"
STATS_UNANSWERED = "没有找到答案的问题："
STATS_LINE = "{n}. {query}（{count}次）"
SOURCE_REASONS = {
    "empty file": "文件是空的",
    "not a valid .docx": "不是有效的 .docx 文件",
    "cannot decode": "无法识别文字编码（支持 UTF-8、GB18030、Big5）",
    "no speech text": "文件中没有讲话正文",
    "no text": "文件中没有文字",
    "unsupported file type": "不支持的文件类型",
    "cannot read": "无法读取文件",
    "document too large": "文档过大（解压后超过上限或段落过多）",
    "unsafe .docx": "文档结构异常，出于安全考虑未处理",
    "corpus directory not found": "服务器上的语料库文件夹不存在，请联系维护人员",
}
