"""Word lists the demo generator draws from: places that exist, names people have, titles they hold.

Everything here is plain data, chosen so the demo reads like a real Chinese sales pipeline:
administrative division codes (GB/T 2260) that match their district, telephone area codes of
their city, surnames weighted by how common they are, and fictional brands (no real company's
name or trademark is used on purpose).
"""

from __future__ import annotations

from dataclasses import dataclass

from loopcrm.modules.customers.models import Industry

# The demo teams (loopcrm.platform.auth.demo): who works which region.
EAST_TEAM = "华东销售组"
SOUTH_TEAM = "华南销售组"
HEAD_TEAM = "销售部"


@dataclass(frozen=True)
class District:
    name: str
    code: str  # the six-digit administrative division code, positions 3-8 of a credit code
    streets: tuple[str, ...]


@dataclass(frozen=True)
class City:
    province: str  # as stored on records: 浙江, 上海
    name: str  # as stored on records: 杭州, 上海
    address_prefix: str  # how an address starts: 浙江省杭州市, 上海市
    english: str
    area_code: str  # without the trunk 0: 571 for Hangzhou
    local_digits: int  # length of a landline number after the area code
    code: str  # the city's own division code (associations register at city level)
    weight: float  # share of demo accounts, roughly where Chinese B2B buyers are
    team: str
    districts: tuple[District, ...]


def _districts(*rows: tuple[str, str, str]) -> tuple[District, ...]:
    return tuple(District(name, code, tuple(streets.split())) for name, code, streets in rows)


# fmt: off
CITIES: tuple[City, ...] = (
    City("上海", "上海", "上海市", "Shanghai", "21", 8, "310000", 16, EAST_TEAM, _districts(
        ("浦东新区", "310115", "张江路 世纪大道 碧波路 祖冲之路 陆家嘴环路"),
        ("徐汇区", "310104", "漕溪北路 宜山路 虹桥路 肇嘉浜路"),
        ("静安区", "310106", "南京西路 延安中路 江宁路"),
        ("长宁区", "310105", "长宁路 仙霞路 延安西路"),
        ("闵行区", "310112", "虹梅南路 申长路 七莘路"),
        ("杨浦区", "310110", "国定路 政学路 大连路"),
        ("嘉定区", "310114", "嘉松北路 安亭镇墨玉路"),
    )),
    City("北京", "北京", "北京市", "Beijing", "10", 8, "110000", 12, HEAD_TEAM, _districts(
        ("海淀区", "110108", "中关村大街 上地十街 知春路 学院路"),
        ("朝阳区", "110105", "建国路 东三环北路 望京街 酒仙桥路"),
        ("东城区", "110101", "东长安街 朝阳门北大街"),
        ("西城区", "110102", "金融大街 西直门外大街"),
        ("丰台区", "110106", "丰台北路 南四环西路"),
        ("昌平区", "110114", "回龙观西大街 生命园路"),
    )),
    City("广东", "深圳", "广东省深圳市", "Shenzhen", "755", 8, "440300", 10, SOUTH_TEAM, _districts(
        ("南山区", "440305", "科技园南路 深南大道 高新南一道 后海大道"),
        ("福田区", "440304", "福华三路 益田路 深南中路"),
        ("罗湖区", "440303", "人民南路 宝安南路"),
        ("宝安区", "440306", "宝安大道 新安六路"),
        ("龙岗区", "440307", "龙岗大道 坂田五和大道"),
    )),
    City("广东", "广州", "广东省广州市", "Guangzhou", "20", 8, "440100", 7, SOUTH_TEAM, _districts(
        ("天河区", "440106", "天河路 珠江东路 体育西路 科韵路"),
        ("越秀区", "440104", "环市东路 东风中路"),
        ("海珠区", "440105", "新港东路 琶洲大道"),
        ("番禺区", "440113", "市桥街 兴业大道"),
        ("黄埔区", "440112", "科学大道 开创大道"),
    )),
    City("浙江", "杭州", "浙江省杭州市", "Hangzhou", "571", 8, "330100", 9, EAST_TEAM, _districts(
        ("西湖区", "330106", "文三路 天目山路 教工路"),
        ("滨江区", "330108", "江南大道 网商路 滨安路"),
        ("余杭区", "330110", "文一西路 五常大道"),
        ("拱墅区", "330105", "莫干山路 湖墅南路"),
        ("上城区", "330102", "解放路 钱江路"),
    )),
    City("江苏", "苏州", "江苏省苏州市", "Suzhou", "512", 8, "320500", 7, EAST_TEAM, _districts(
        ("姑苏区", "320508", "人民路 干将西路"),
        ("吴中区", "320506", "东吴北路 吴中大道"),
        ("虎丘区", "320505", "狮山路 长江路 珠江路"),
        ("昆山市", "320583", "前进东路 萧林路"),
    )),
    City("江苏", "南京", "江苏省南京市", "Nanjing", "25", 8, "320100", 5, EAST_TEAM, _districts(
        ("玄武区", "320102", "珠江路 中山东路"),
        ("鼓楼区", "320106", "中山北路 汉中门大街"),
        ("建邺区", "320105", "江东中路 河西大街"),
        ("江宁区", "320115", "双龙大道 秣周东路"),
    )),
    City("江苏", "无锡", "江苏省无锡市", "Wuxi", "510", 8, "320200", 2, EAST_TEAM, _districts(
        ("梁溪区", "320213", "人民中路 解放北路"),
        ("滨湖区", "320211", "蠡湖大道 太湖西大道"),
    )),
    City("浙江", "宁波", "浙江省宁波市", "Ningbo", "574", 8, "330200", 3, EAST_TEAM, _districts(
        ("鄞州区", "330212", "天童南路 宁南南路"),
        ("海曙区", "330203", "中山西路 药行街"),
    )),
    City("浙江", "温州", "浙江省温州市", "Wenzhou", "577", 8, "330300", 1, EAST_TEAM, _districts(
        ("鹿城区", "330302", "车站大道 人民东路"),
    )),
    City("安徽", "合肥", "安徽省合肥市", "Hefei", "551", 8, "340100", 2, EAST_TEAM, _districts(
        ("蜀山区", "340104", "黄山路 长江西路"),
        ("包河区", "340111", "马鞍山路 徽州大道"),
    )),
    City("山东", "青岛", "山东省青岛市", "Qingdao", "532", 8, "370200", 2, EAST_TEAM, _districts(
        ("市南区", "370202", "香港中路 东海西路"),
        ("黄岛区", "370211", "长江中路 江山南路"),
    )),
    City("山东", "济南", "山东省济南市", "Jinan", "531", 8, "370100", 1.5, EAST_TEAM, _districts(
        ("历下区", "370102", "经十路 泉城路"),
    )),
    City("福建", "厦门", "福建省厦门市", "Xiamen", "592", 7, "350200", 2, EAST_TEAM, _districts(
        ("思明区", "350203", "鹭江道 湖滨南路"),
        ("湖里区", "350206", "湖里大道 五缘湾道"),
    )),
    City("福建", "福州", "福建省福州市", "Fuzhou", "591", 8, "350100", 1, EAST_TEAM, _districts(
        ("鼓楼区", "350102", "五四路 湖东路"),
    )),
    City("广东", "东莞", "广东省东莞市", "Dongguan", "769", 8, "441900", 3, SOUTH_TEAM, _districts(
        ("东莞市", "441900", "松山湖大道 东城中路 长安镇振安中路"),
    )),
    City("广东", "佛山", "广东省佛山市", "Foshan", "757", 8, "440600", 2, SOUTH_TEAM, _districts(
        ("南海区", "440605", "桂城南海大道 狮山镇博爱路"),
        ("顺德区", "440606", "大良新城路 北滘镇工业大道"),
    )),
    City("湖南", "长沙", "湖南省长沙市", "Changsha", "731", 8, "430100", 2, HEAD_TEAM, _districts(
        ("岳麓区", "430104", "麓谷大道 桐梓坡路"),
        ("芙蓉区", "430102", "五一大道 芙蓉中路"),
    )),
    City("四川", "成都", "四川省成都市", "Chengdu", "28", 8, "510100", 5, HEAD_TEAM, _districts(
        ("武侯区", "510107", "天府大道 人民南路四段 科华北路"),
        ("锦江区", "510104", "红星路 东大街"),
        ("青羊区", "510105", "蜀都大道 光华大道"),
        ("成华区", "510108", "建设路 府青路"),
    )),
    City("湖北", "武汉", "湖北省武汉市", "Wuhan", "27", 8, "420100", 4, HEAD_TEAM, _districts(
        ("洪山区", "420111", "珞喻路 光谷大道"),
        ("江汉区", "420103", "解放大道 建设大道"),
        ("武昌区", "420106", "中北路 武珞路"),
    )),
    City("天津", "天津", "天津市", "Tianjin", "22", 8, "120000", 3, HEAD_TEAM, _districts(
        ("和平区", "120101", "南京路 营口道"),
        ("滨海新区", "120116", "第二大街 黄海路"),
    )),
    City("重庆", "重庆", "重庆市", "Chongqing", "23", 8, "500000", 3, HEAD_TEAM, _districts(
        ("渝中区", "500103", "民族路 中山三路"),
        ("江北区", "500105", "建新北路 北城天街"),
    )),
    City("陕西", "西安", "陕西省西安市", "Xi'an", "29", 8, "610100", 2, HEAD_TEAM, _districts(
        ("雁塔区", "610113", "高新路 科技路 长安南路"),
        ("未央区", "610112", "凤城八路 未央路"),
    )),
    City("河南", "郑州", "河南省郑州市", "Zhengzhou", "371", 8, "410100", 1.5, HEAD_TEAM, _districts(
        ("金水区", "410105", "花园路 农业路"),
        ("中原区", "410102", "建设西路 中原中路"),
    )),
    City("辽宁", "大连", "辽宁省大连市", "Dalian", "411", 8, "210200", 1, HEAD_TEAM, _districts(
        ("中山区", "210202", "人民路 港湾街"),
        ("甘井子区", "210211", "黄浦路 软件园路"),
    )),
    City("辽宁", "沈阳", "辽宁省沈阳市", "Shenyang", "24", 8, "210100", 1, HEAD_TEAM, _districts(
        ("和平区", "210102", "青年大街 南京北街"),
    )),
)
# fmt: on
# Where foreign companies put their China office, and how often.
FOREIGN_OFFICE_CITIES = (("上海", 55), ("北京", 15), ("深圳", 10), ("苏州", 10), ("广州", 10))

# Mobile prefixes of China Mobile, China Unicom, China Telecom and China Broadnet in use today.
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "193",
    "195",
    "198",
    "199",
)

# ---------------------------------------------------------------- industries and companies

INDUSTRY_WEIGHTS: dict[Industry, float] = {
    Industry.INFORMATION_TECHNOLOGY: 22,
    Industry.MANUFACTURING: 22,
    Industry.WHOLESALE_RETAIL: 14,
    Industry.BUSINESS_SERVICES: 7,
    Industry.RESEARCH_TECHNOLOGY: 5,
    Industry.TRANSPORT_LOGISTICS: 5,
    Industry.CONSTRUCTION: 4,
    Industry.FINANCE: 3,
    Industry.REAL_ESTATE: 3,
    Industry.HEALTH_SOCIAL_WORK: 3,
    Industry.CULTURE_SPORTS_MEDIA: 3,
    Industry.EDUCATION: 2,
    Industry.HOSPITALITY: 2,
    Industry.AGRICULTURE: 1.5,
    Industry.ENVIRONMENT_FACILITIES: 1.5,
    Industry.UTILITIES: 1,
    Industry.RESIDENT_SERVICES: 1,
    Industry.MINING: 0.5,
}
# What a company of the industry calls itself, in Chinese and in its English name.
INDUSTRY_WORDS: dict[Industry, tuple[tuple[str, str], ...]] = {
    Industry.INFORMATION_TECHNOLOGY: (
        ("数据科技", "Data Technology"),
        ("信息技术", "Information Technology"),
        ("软件", "Software"),
        ("网络科技", "Network Technology"),
        ("智能科技", "Intelligent Technology"),
        ("云计算科技", "Cloud Computing Technology"),
        ("数字科技", "Digital Technology"),
        ("计算机系统", "Computer Systems"),
    ),
    Industry.MANUFACTURING: (
        ("精密机械", "Precision Machinery"),
        ("电子", "Electronics"),
        ("新材料", "New Materials"),
        ("汽车零部件", "Auto Parts"),
        ("机电设备", "Electromechanical Equipment"),
        ("塑胶制品", "Plastic Products"),
        ("光电科技", "Optoelectronic Technology"),
        ("医疗器械", "Medical Devices"),
        ("化工", "Chemical"),
        ("纺织", "Textile"),
        ("食品", "Foods"),
        ("家具", "Furniture"),
    ),
    Industry.WHOLESALE_RETAIL: (
        ("贸易", "Trading"),
        ("商贸", "Commerce"),
        ("供应链管理", "Supply Chain Management"),
        ("进出口", "Import and Export"),
        ("百货", "Department Store"),
        ("医药连锁", "Pharmacy Chain"),
        ("电子商务", "E-Commerce"),
    ),
    Industry.CONSTRUCTION: (
        ("建设工程", "Construction Engineering"),
        ("建筑装饰工程", "Building Decoration Engineering"),
        ("市政工程", "Municipal Engineering"),
    ),
    Industry.FINANCE: (
        ("融资租赁", "Financial Leasing"),
        ("商业保理", "Commercial Factoring"),
        ("保险代理", "Insurance Agency"),
    ),
    Industry.REAL_ESTATE: (
        ("置业", "Property"),
        ("房地产开发", "Real Estate Development"),
        ("物业管理", "Property Management"),
    ),
    Industry.BUSINESS_SERVICES: (
        ("企业管理咨询", "Management Consulting"),
        ("人力资源", "Human Resources"),
        ("广告", "Advertising"),
        ("会展服务", "Exhibition Services"),
        ("商务咨询", "Business Consulting"),
    ),
    Industry.RESEARCH_TECHNOLOGY: (
        ("检测技术", "Testing Technology"),
        ("生物科技", "Biotechnology"),
        ("工程技术", "Engineering Technology"),
        ("工业设计", "Industrial Design"),
    ),
    Industry.TRANSPORT_LOGISTICS: (
        ("物流", "Logistics"),
        ("国际货运代理", "International Freight Forwarding"),
        ("运输", "Transportation"),
        ("冷链物流", "Cold Chain Logistics"),
    ),
    Industry.HOSPITALITY: (("餐饮管理", "Catering Management"), ("酒店管理", "Hotel Management")),
    Industry.HEALTH_SOCIAL_WORK: (
        ("健康管理", "Health Management"),
        ("医疗管理", "Medical Management"),
        ("养老服务", "Elderly Care Services"),
    ),
    Industry.EDUCATION: (("教育科技", "Education Technology"), ("职业技能培训", "Vocational Training")),
    Industry.CULTURE_SPORTS_MEDIA: (
        ("文化传媒", "Culture and Media"),
        ("影视文化", "Film and Television"),
        ("体育发展", "Sports Development"),
    ),
    Industry.AGRICULTURE: (
        ("农业发展", "Agricultural Development"),
        ("生态农业", "Eco-Agriculture"),
        ("水产", "Aquatic Products"),
    ),
    Industry.UTILITIES: (("能源", "Energy"), ("燃气", "Gas"), ("新能源科技", "New Energy Technology")),
    Industry.MINING: (("矿业", "Mining"),),
    Industry.ENVIRONMENT_FACILITIES: (
        ("环境工程", "Environmental Engineering"),
        ("水务", "Water Services"),
        ("园林绿化工程", "Landscaping Engineering"),
    ),
    Industry.RESIDENT_SERVICES: (
        ("家政服务", "Housekeeping Services"),
        ("汽车维修服务", "Auto Repair Services"),
    ),
}
# The part of GB/T 4754 each industry is, as an account description mentions it.
INDUSTRY_LABELS: dict[Industry, str] = {
    Industry.AGRICULTURE: "农业",
    Industry.MINING: "采矿",
    Industry.MANUFACTURING: "制造",
    Industry.UTILITIES: "能源",
    Industry.CONSTRUCTION: "建筑",
    Industry.WHOLESALE_RETAIL: "批发零售",
    Industry.TRANSPORT_LOGISTICS: "物流",
    Industry.HOSPITALITY: "餐饮酒店",
    Industry.INFORMATION_TECHNOLOGY: "软件和信息技术",
    Industry.FINANCE: "金融",
    Industry.REAL_ESTATE: "房地产",
    Industry.BUSINESS_SERVICES: "商务服务",
    Industry.RESEARCH_TECHNOLOGY: "科技服务",
    Industry.ENVIRONMENT_FACILITIES: "环保",
    Industry.RESIDENT_SERVICES: "居民服务",
    Industry.EDUCATION: "教育",
    Industry.HEALTH_SOCIAL_WORK: "医疗健康",
    Industry.CULTURE_SPORTS_MEDIA: "文化传媒",
    Industry.PUBLIC_ADMINISTRATION: "社会组织",
}
# Two characters of a Chinese brand (字号), each drawn from one list: 云 + 帆 → 云帆.
BRAND_FIRST = "云华鼎瑞恒博天金新宏盛嘉联东汇晨宇锦正星亿信安泰卓智海明远达聚润凯迅腾航朗睿中致"
BRAND_SECOND = "帆信新达通远盛源创阳峰拓科宇辰诚和利泽恒迈捷驰图岳舟桥晟"
# Trade associations register with the civil affairs bureau (credit codes starting 51).
ASSOCIATION_SECTORS = ("软件", "电子商务", "物流", "机械工业", "医疗器械", "服装", "家具", "跨境电子商务")

DESCRIPTION_NEEDS = (
    "关注销售流程数字化",
    "计划明年扩大采购规模",
    "对价格较敏感，决策周期较长",
    "已有竞品系统，合同明年到期",
    "希望加强客户服务与售后管理",
    "预算审批需经集团总部",
    "去年在展会上认识，对移动端很感兴趣",
    "老板亲自参与选型",
)

# ---------------------------------------------------------------- foreign companies

# English word → Chinese rendering; brand = one of each list: North + bridge → Northbridge 北桥.
FOREIGN_BRAND_FIRST = (
    ("Blue", "蓝"), ("North", "北"), ("Silver", "银"), ("Green", "绿"), ("Bright", "明"),
    ("Stone", "石"), ("Red", "红"), ("Clear", "清"), ("Summit", "峰"), ("Harbor", "港"),
    ("Crest", "冠"), ("Eagle", "鹰"), ("Maple", "枫"), ("Cedar", "杉"), ("Iron", "铁"),
    ("Golden", "金"), ("Star", "星"), ("River", "河"), ("Lake", "湖"), ("West", "西"),
)  # fmt: skip
FOREIGN_BRAND_SECOND = (
    ("field", "野"), ("point", "点"), ("bridge", "桥"), ("wave", "浪"), ("gate", "门"),
    ("peak", "峰"), ("view", "景"), ("wood", "木"), ("ridge", "岭"), ("light", "光"),
    ("path", "途"), ("well", "泉"), ("haven", "港"), ("mont", "山"),
)  # fmt: skip
# English sector, Chinese sector, industry.
FOREIGN_SECTORS = (
    ("Technologies", "科技", Industry.INFORMATION_TECHNOLOGY),
    ("Software", "软件", Industry.INFORMATION_TECHNOLOGY),
    ("Systems", "系统", Industry.INFORMATION_TECHNOLOGY),
    ("Materials", "材料", Industry.MANUFACTURING),
    ("Automotive", "汽车零部件", Industry.MANUFACTURING),
    ("Instruments", "仪器", Industry.MANUFACTURING),
    ("Medical", "医疗器械", Industry.MANUFACTURING),
    ("Chemicals", "化工", Industry.MANUFACTURING),
    ("Foods", "食品", Industry.WHOLESALE_RETAIL),
    ("Trading", "贸易", Industry.WHOLESALE_RETAIL),
    ("Logistics", "物流", Industry.TRANSPORT_LOGISTICS),
    ("Consulting", "咨询", Industry.BUSINESS_SERVICES),
    ("Biosciences", "生物科技", Industry.RESEARCH_TECHNOLOGY),
    ("Hotels", "酒店管理", Industry.HOSPITALITY),
)


@dataclass(frozen=True)
class Country:
    chinese: str  # as a Chinese company name starts: 德国
    legal_suffix: str  # the headquarters' legal form
    top_level_domain: str
    headquarters: tuple[str, ...]  # cities, in Chinese as records store them


COUNTRIES = (
    Country("美国", "Inc.", "com", ("波士顿", "圣何塞", "芝加哥")),
    Country("德国", "GmbH", "de", ("慕尼黑", "汉堡", "斯图加特")),
    Country("日本", "K.K.", "co.jp", ("大阪", "名古屋", "东京")),
    Country("英国", "Ltd", "co.uk", ("伦敦", "曼彻斯特")),
    Country("法国", "S.A.", "fr", ("里昂", "巴黎")),
    Country("瑞士", "AG", "ch", ("巴塞尔", "苏黎世")),
    Country("荷兰", "B.V.", "nl", ("鹿特丹", "埃因霍温")),
    Country("新加坡", "Pte. Ltd.", "com.sg", ("新加坡",)),
    Country("韩国", "Co., Ltd.", "co.kr", ("首尔", "釜山")),
    Country("瑞典", "AB", "se", ("哥德堡", "斯德哥尔摩")),
)

ENGLISH_GIVEN_NAMES = (
    ("James", "male"), ("Michael", "male"), ("David", "male"), ("Thomas", "male"),
    ("Daniel", "male"), ("Lukas", "male"), ("Pierre", "male"), ("Kenji", "male"),
    ("Oliver", "male"), ("Henrik", "male"), ("Marco", "male"), ("Minho", "male"),
    ("Robert", "male"), ("Stefan", "male"), ("Hiroshi", "male"), ("Sarah", "female"),
    ("Emily", "female"), ("Anna", "female"), ("Laura", "female"), ("Sophie", "female"),
    ("Hannah", "female"), ("Marie", "female"), ("Yuki", "female"), ("Charlotte", "female"),
    ("Ingrid", "female"), ("Giulia", "female"), ("Jiyeon", "female"), ("Rachel", "female"),
    ("Claire", "female"), ("Emma", "female"),
)  # fmt: skip
ENGLISH_FAMILY_NAMES = (
    "Smith", "Johnson", "Brown", "Taylor", "Anderson", "Miller", "Müller", "Schmidt", "Fischer", "Weber",
    "Wagner", "Martin", "Bernard", "Dubois", "Tanaka", "Suzuki", "Sato", "Watanabe", "Rossi", "Bianchi",
    "Kim", "Park", "Lee", "Andersson", "Lindqvist", "Jansen", "Vries", "Clarke", "Walker", "Wright",
    "Evans", "Hughes", "Becker", "Hoffmann", "Moreau", "Laurent", "Nakamura", "Kobayashi", "Tan", "Lim",
)  # fmt: skip
ENGLISH_TITLES = (
    ("General Manager China", "Management"),
    ("Managing Director", "Management"),
    ("Chief Financial Officer", "Finance"),
    ("Finance Manager", "Finance"),
    ("Procurement Manager", "Procurement"),
    ("Head of IT", "IT"),
    ("Sales Director APAC", "Sales"),
    ("Marketing Manager", "Marketing"),
    ("HR Business Partner", "Human Resources"),
    ("Operations Director", "Operations"),
    ("Supply Chain Manager", "Supply Chain"),
    ("Plant Manager", "Production"),
)

# ---------------------------------------------------------------- people

# Surnames with their share of the population in per mille (2020 census, rounded); the last ones
# are rare but read differently as a surname (单 shàn, 解 xiè, 曾 zēng is common), so the demo
# shows that pinyin search finds them by their surname reading.
SURNAMES = (
    ("王", 71), ("李", 70), ("张", 66), ("刘", 54), ("陈", 46), ("杨", 31), ("赵", 23), ("黄", 24),
    ("周", 19), ("吴", 20), ("徐", 16), ("孙", 15), ("马", 13), ("朱", 13), ("胡", 12), ("郭", 11),
    ("何", 11), ("林", 10), ("高", 10), ("罗", 9), ("郑", 9), ("梁", 8), ("谢", 8), ("宋", 7),
    ("唐", 7), ("许", 7), ("韩", 6), ("冯", 6), ("邓", 6), ("曹", 6), ("彭", 6), ("曾", 6),
    ("肖", 5), ("田", 5), ("董", 5), ("袁", 5), ("潘", 5), ("于", 5), ("蒋", 5), ("蔡", 5),
    ("余", 5), ("杜", 4), ("叶", 4), ("程", 4), ("苏", 4), ("魏", 4), ("吕", 4), ("丁", 4),
    ("任", 4), ("沈", 4), ("姚", 4), ("卢", 4), ("姜", 3), ("崔", 3), ("钟", 3), ("谭", 3),
    ("陆", 3), ("汪", 3), ("范", 3), ("金", 3), ("石", 3), ("廖", 3), ("贾", 3), ("夏", 3),
    ("韦", 3), ("傅", 3), ("方", 3), ("白", 3), ("邹", 3), ("孟", 3), ("熊", 3), ("秦", 3),
    ("邱", 3), ("江", 3), ("尹", 3), ("薛", 2), ("闫", 2), ("段", 2), ("雷", 2), ("侯", 2),
    ("龙", 2), ("史", 2), ("陶", 2), ("黎", 2), ("贺", 2), ("顾", 2), ("毛", 2), ("郝", 2),
    ("龚", 2), ("邵", 2), ("万", 2), ("钱", 2), ("严", 2), ("武", 2), ("戴", 2), ("欧阳", 1),
    ("单", 1), ("解", 1), ("仇", 0.5), ("查", 0.5), ("翟", 0.5), ("司马", 0.3), ("诸葛", 0.3),
)  # fmt: skip
# Given names as parents give them, by the gender they are usually given to (one or two characters).
MALE_GIVEN_NAMES = (
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞", "鑫",
    "波", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "阳", "建华", "建国", "志强",
    "志明", "海涛", "海波", "子轩", "浩然", "宇航", "俊杰", "文博", "天佑", "晨阳", "嘉豪", "国强", "建军",
    "永刚", "春雷", "晓东", "振华", "宏伟", "明辉", "立新", "文杰", "博文", "思远", "一鸣", "子豪", "梓睿",
    "浩宇", "家乐", "志伟", "建平", "德明", "云飞", "世杰",
)  # fmt: skip
FEMALE_GIVEN_NAMES = (
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "雪", "琳", "晶", "颖", "倩", "洁",
    "欣", "怡", "佳", "秀英", "桂英", "丽娟", "晓燕", "欣怡", "梓涵", "雨桐", "诗琪", "思雨", "佳怡",
    "梦瑶", "雅琴", "婉婷", "晓丽", "红梅", "玉兰", "海燕", "丽华", "春燕", "美玲", "雪梅", "静怡", "子涵",
    "一诺", "若曦", "可欣", "雨欣", "佳琪", "晓雯", "慧敏", "淑芬", "秀兰", "文静", "丹丹", "莉莉", "婷婷",
    "小红", "亚楠",
)  # fmt: skip

CHINESE_TITLES = (
    ("总经理", "总经办", 3),
    ("副总经理", "总经办", 3),
    ("董事长", "董事会", 1),
    ("财务总监", "财务部", 2),
    ("财务经理", "财务部", 3),
    ("会计", "财务部", 2),
    ("采购总监", "采购部", 2),
    ("采购经理", "采购部", 5),
    ("采购专员", "采购部", 4),
    ("IT经理", "信息部", 4),
    ("技术总监", "技术部", 3),
    ("研发工程师", "研发部", 3),
    ("销售总监", "销售部", 3),
    ("销售经理", "销售部", 5),
    ("市场经理", "市场部", 4),
    ("市场专员", "市场部", 2),
    ("人力资源经理", "人力资源部", 3),
    ("行政主管", "行政部", 2),
    ("运营总监", "运营部", 2),
    ("项目经理", "项目部", 4),
    ("生产经理", "生产部", 2),
    ("质量经理", "质量部", 2),
    ("法务经理", "法务部", 1),
    ("客服主管", "客服部", 2),
)
PERSONAL_EMAIL_DOMAINS = (
    ("qq.com", 40), ("163.com", 25), ("126.com", 8), ("gmail.com", 10), ("outlook.com", 7), ("sina.com", 4),
    ("foxmail.com", 6),
)  # fmt: skip
# Residential compounds a B2C contact's home address names.
RESIDENCES = (
    "阳光花园",
    "绿地新都会",
    "万科城市花园",
    "金色家园",
    "碧水湾",
    "世纪新城",
    "翠湖天地",
    "锦绣江南",
)
