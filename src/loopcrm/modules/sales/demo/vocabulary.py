"""Words of the sales demo: what the demo company sells, the names of its second pipeline, its
campaigns, and the people and companies of leads that are not in the CRM yet.

The demo company (the one using LoopCRM) sells a business software suite with services and a
line of in-store hardware: the standard pipeline sells the software, the South China team's
second pipeline the hardware through channel partners, and a web shop sells the consumables.
"""

from __future__ import annotations

from decimal import Decimal

# (sku, name, unit, category, tax rate %, list price in CNY, kind): "software" and "service" lines
# go to software deals, "hardware" and "consumable" lines to hardware deals and the web shop.
PRODUCTS = (
    ("LC-CRM-STD", "循环CRM 标准版（年订阅/用户）", "用户·年", "软件订阅", "6", "1800", "software"),
    ("LC-CRM-PRO", "循环CRM 专业版（年订阅/用户）", "用户·年", "软件订阅", "6", "3600", "software"),
    ("LC-CDP", "客户数据平台 CDP 模块（年订阅）", "套·年", "软件订阅", "6", "120000", "software"),
    ("LC-MKT", "营销自动化模块（年订阅）", "套·年", "软件订阅", "6", "60000", "software"),
    ("SV-IMPL", "实施服务（人天）", "人天", "专业服务", "6", "2500", "service"),
    ("SV-TRAIN", "现场培训（天）", "天", "专业服务", "6", "6000", "service"),
    ("SV-DATA", "数据迁移服务", "项", "专业服务", "6", "30000", "service"),
    ("SV-SUPPORT", "7×24 高级支持（年）", "年", "专业服务", "6", "48000", "service"),
    ("HW-POS-10", "智能收银终端 T10", "台", "门店硬件", "13", "3980", "hardware"),
    ("HW-KIOSK", "自助点单机 K21", "台", "门店硬件", "13", "12800", "hardware"),
    ("HW-SCAN", "扫码枪 S3", "把", "门店硬件", "13", "399", "hardware"),
    ("HW-PRINT", "热敏小票打印机 P58", "台", "门店硬件", "13", "699", "hardware"),
    ("CS-PAPER", "热敏打印纸（50卷/箱）", "箱", "耗材", "13", "168", "consumable"),
    ("CS-LABEL", "价签标签纸（20卷/箱）", "箱", "耗材", "13", "228", "consumable"),
)
# Units of another currency a product costs: list prices converted and rounded, as a price
# list abroad would be (not today's rate to the cent).
FOREIGN_PRICE_FACTORS = {"USD": Decimal("0.15"), "EUR": Decimal("0.135"), "HKD": Decimal("1.1")}
KEY_ACCOUNT_DISCOUNT = Decimal("0.90")  # the key-account price list: 10 % under the list price

CURRENCIES = (
    ("USD", "美元", Decimal("7.1000")),
    ("EUR", "欧元", Decimal("7.7000")),
    ("HKD", "港币", Decimal("0.9100")),
)

# The second pipeline: the South China team's hardware and channel sales.
# (name, kind, probability, forecast category, orderable)
HARDWARE_PIPELINE = "华南门店硬件渠道"
HARDWARE_STAGES = (
    ("需求确认", "open", 10, "pipeline", False),
    ("样机测试", "open", 30, "pipeline", False),
    ("商务报价", "open", 60, "best_case", True),
    ("合同签订", "open", 80, "commit", True),
    ("成交", "won", 100, "closed", False),
    ("未成交", "lost", 0, "omitted", False),
)
EXTRA_LOST_REASONS = ("项目取消", "渠道冲突")

SOFTWARE_DEAL_NAMES = (
    "{company} CRM 系统采购",
    "{company} 客户数据平台建设",
    "{company} 营销自动化项目",
    "{company} 销售管理数字化",
    "{company} CRM 扩容 {seats} 用户",
    "{company} 会员体系升级",
    "{company} 年度订阅续约",
)
HARDWARE_DEAL_NAMES = (
    "{company} 门店收银终端采购",
    "{company} 自助点单机试点",
    "{company} 新店硬件套装",
    "{company} 门店设备更新",
)
ENGLISH_DEAL_NAMES = (
    "{company} CRM rollout",
    "{company} customer data platform",
    "{company} sales cloud expansion",
    "{company} APAC renewal",
)
COMPETITORS = ("纷享销客", "销售易", "Salesforce", "HubSpot", "Zoho", "用友", "金蝶")
NEXT_STEPS = (
    "安排产品演示",
    "发送方案书",
    "约见 IT 负责人",
    "确认预算",
    "提交报价",
    "商务谈判",
    "等待法务审核合同",
    "POC 测试反馈",
)
LOST_NOTES = (
    "客户选择了价格更低的方案",
    "预算被冻结到明年",
    "决策人离职，项目搁置",
    "需要本地部署，我们暂不支持",
    None,
    None,
)
QUOTE_TERMS = "报价含税，有效期内有效。付款方式：合同签订后 7 日内支付 50%，验收后支付 50%。"
REJECTION_REASONS = ("价格超出预算", "选择了其他供应商", "需求变更，需要重新评估")

# Lead sources with their UTM tagging: (source, weight, [(utm_source, utm_medium, utm_campaign)…]).
LEAD_SOURCES = (
    (
        "website",
        30,
        (
            ("baidu", "cpc", "2026-crm-search"),
            ("google", "organic", None),
            ("direct", None, None),
            ("wechat", "article", "2026-digital-retail"),
        ),
    ),
    ("advertising", 14, (("baidu", "cpc", "2026-crm-search"), ("linkedin", "paid-social", "apac-b2b"))),
    ("social_media", 12, (("wechat", "social", "2026-digital-retail"), ("weibo", "social", None))),
    ("event", 14, (("expo", "offline", "2026-retail-expo"), ("webinar", "online", "cdp-webinar-q3"))),
    ("referral", 12, ((None, None, None),)),
    ("partner", 8, (("partner", "referral", "channel-2026"),)),
    ("cold_outreach", 10, ((None, None, None),)),
)
LEAD_TITLES = (
    "销售总监",
    "市场经理",
    "IT 经理",
    "运营总监",
    "总经理",
    "采购经理",
    "数字化负责人",
    "客服主管",
    "门店运营经理",
    "CIO",
)
ENGLISH_TITLES = ("Sales Director", "Marketing Manager", "IT Manager", "Head of Operations", "CIO")
LEAD_DESCRIPTIONS = (
    "官网咨询：想了解 CRM 专业版价格",
    "展会上留下名片，对 CDP 感兴趣",
    "希望安排一次线上演示",
    "现有系统到期，正在选型",
    "门店数量 30 家，想试用收银终端",
    None,
    None,
)
DISQUALIFICATION_NOTES = {
    "no_budget": "今年没有预算",
    "no_need": "只是了解一下",
    "unreachable": "电话三次未接通",
    "competitor": "同行咨询",
    "spam": None,
    "duplicate": "与已有联系人重复",
    "bad_timing": "明年再联系",
}

# Leads' people and companies that are not (yet) in the CRM.
# (characters, pinyin): family and given names of leads' people.
FAMILY_NAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
)  # fmt: skip
GIVEN_NAMES = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("霞", "xia"),
    ("建华", "jianhua"), ("晓东", "xiaodong"), ("婷婷", "tingting"), ("海燕", "haiyan"),
    ("子涵", "zihan"), ("浩然", "haoran"), ("欣怡", "xinyi"), ("宇轩", "yuxuan"),
)  # fmt: skip
ENGLISH_PEOPLE = (
    ("Smith", "Oliver"),
    ("Brown", "Sophie"),
    ("Müller", "Lukas"),
    ("Martin", "Camille"),
    ("Tanaka", "Yuki"),
    ("Kim", "Min-jun"),
    ("Taylor", "James"),
    ("Rossi", "Giulia"),
)
# (province, city, weight): where leads come from.
REGIONS = (
    ("上海", "上海", 16),
    ("北京", "北京", 14),
    ("广东", "深圳", 12),
    ("广东", "广州", 10),
    ("浙江", "杭州", 9),
    ("江苏", "南京", 6),
    ("江苏", "苏州", 6),
    ("四川", "成都", 6),
    ("湖北", "武汉", 5),
    ("福建", "厦门", 4),
    ("山东", "青岛", 4),
    ("香港", "香港", 3),
    ("陕西", "西安", 3),
    ("天津", "天津", 2),
)
EAST_PROVINCES = ("上海", "江苏", "浙江", "安徽", "山东")
SOUTH_PROVINCES = ("广东", "福建", "广西", "海南", "香港")
COMPANY_PREFIXES = (
    ("星河", "xinghe"), ("鼎盛", "dingsheng"), ("云帆", "yunfan"), ("和睿", "herui"),
    ("启明", "qiming"), ("锦程", "jincheng"), ("博远", "boyuan"), ("恒信", "hengxin"),
    ("华拓", "huatuo"), ("瑞丰", "ruifeng"), ("优品", "youpin"), ("新禾", "xinhe"),
    ("万象", "wanxiang"), ("嘉禾", "jiahe"), ("智汇", "zhihui"), ("青橙", "qingcheng"),
)  # fmt: skip
COMPANY_TRADES = (
    ("科技", "information_technology"),
    ("软件", "information_technology"),
    ("商贸", "wholesale_retail"),
    ("连锁餐饮", "hospitality"),
    ("智能制造", "manufacturing"),
    ("物流", "transport_logistics"),
    ("教育科技", "education"),
    ("医疗器械", "health_social_work"),
    ("金融服务", "finance"),
    ("置业", "real_estate"),
)
# What small shops buy in the web shop: scanners, printers, paper and labels, now and then a till.
WEBSHOP_SKUS = ("HW-SCAN", "HW-PRINT", "CS-PAPER", "CS-LABEL", "HW-POS-10")
WEBSHOP_CHANNELS = (("tmall", 40), ("jd", 30), ("youzan", 20), ("douyin", 10))
